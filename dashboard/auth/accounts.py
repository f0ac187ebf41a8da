"""Accounts: creating people who log in, setting passwords, the demo accounts, and the
page each role starts on. Callers own the transaction (they commit)."""
from __future__ import annotations

import re

import redis as redis_lib
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.auth.logins import LOGIN_ROLES, end_all_logins
from dashboard.auth.passwords import check_new_password, hash_password
from models.area import Area
from models.enums import AreaLevel, Role
from models.errors import Invalid, NotFound
from models.org import Staff
from models.settings import env_str

# LOGIN_ROLES (the roles that log into the centre's screens) lives in logins.py, which
# checks it on every SQL check of a login; it is imported here for the callers of accounts.
CENTRE_LEVELS = (AreaLevel.CITY, AreaLevel.TOWN, AreaLevel.VILLAGE)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

# Each role at each level, so a newcomer can try every screen (README, "Logins and roles").
DEMO_PASSWORD = "grid-demo-2026"  # a demo default: set GRID_DEMO_PASSWORD, or change them
DEMO_CENTRES = ("city", "441900004", "441900003", "441900004002")
DEMO_USERNAMES = ("admin", "441900004-admin-1") + tuple(f"{centre}-{role}-1" for centre in DEMO_CENTRES
                                    for role in ("operator", "shiftlead", "leader"))


def normalise_username(raw: str | None) -> str:
    return (raw or "").strip().lower()[:64]


def get_staff(session: Session, username: str) -> Staff:
    staff = session.scalar(select(Staff).where(Staff.username == normalise_username(username)))
    if staff is None:
        raise NotFound(f"no user named {username!r}", field="username")
    return staff


def get_login_staff(session: Session, username: str) -> Staff | None:
    """The active person who may log in under this username, or None."""
    return session.scalar(select(Staff).where(
        Staff.username == normalise_username(username), Staff.active.is_(True),
        Staff.role.in_(LOGIN_ROLES)))


def _require_password(password: str) -> str:
    problem = check_new_password(password)
    if problem:
        raise Invalid("password", problem)
    return hash_password(password)


def create_user(session: Session, username: str, *, role: Role | str, area_code: str, password: str,
                name: str | None = None) -> Staff:
    """A new person who logs in: an operator, shift lead or leader of a centre (city, town or
    village), or an admin. Their jurisdiction is that area and everything beneath it."""
    username = normalise_username(username)
    if not USERNAME.match(username):
        raise Invalid("username", "a username is 2-64 characters: a-z, 0-9, '.', '_' or '-'")
    if role not in {r.value for r in LOGIN_ROLES}:
        raise Invalid("role", f"role must be one of {', '.join(sorted(r.value for r in LOGIN_ROLES))}")
    area = session.scalar(select(Area).where(Area.code == area_code))
    if area is None or area.level not in CENTRE_LEVELS:
        raise Invalid("area", f"{area_code!r} is not the code of a city, town or village")
    if session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise Invalid("username", f"{username!r} is taken")
    staff = Staff(name=(name or username).strip()[:64], role=Role(role), area_id=area.id,
                  username=username, active=True, password_hash=_require_password(password))
    session.add(staff)
    session.flush()
    return staff


def set_password(session: Session, username: str, password: str,
                 redis: redis_lib.Redis | None = None) -> Staff:
    """Store a new password and end every login of this person (logins.end_all_logins):
    in SQL with the caller's commit, and their Redis copies deleted right after it. Pass
    the app's `redis`; without it the copies lapse within logins.COPY_TTL."""
    staff = get_staff(session, username)
    staff.password_hash = _require_password(password)
    end_all_logins(session, redis, staff.id)
    return staff


def set_demo_passwords(session: Session, password: str | None = None) -> int:
    """Give the demo accounts that have no password GRID_DEMO_PASSWORD (default
    DEMO_PASSWORD); returns how many. They share one password by design, so one argon2 hash
    serves them all (its salt hides nothing the README does not already say)."""
    rows = list(session.scalars(select(Staff).where(Staff.username.in_(DEMO_USERNAMES),
                                                    Staff.password_hash.is_(None))))
    if rows:
        stored = hash_password(password or env_str("GRID_DEMO_PASSWORD", DEMO_PASSWORD))
        for staff in rows:
            staff.password_hash = stored
        session.flush()
    return len(rows)


def build_home_path(role: Role | str, level: str | None, code: str | None) -> str:
    """Where a role starts: operators on their own wall, shift leads on the console,
    leaders on the metrics, admins on the admin page."""
    if role == Role.OPERATOR:
        if level == AreaLevel.TOWN:
            return f"/wall/town/{code}"
        if level == AreaLevel.VILLAGE:
            return f"/wall/village/{code}"
        return "/wall"
    return {Role.SHIFT_LEAD: "/console", Role.LEADER: "/metrics", Role.ADMIN: "/admin"}.get(role, "/")
