"""Logins kept on the server, so that logging out really ends them.

Flask's session is a signed cookie: on its own, a copy taken before logout would still
work afterwards, and Flask-Login's "remember me" cookie (`<id>|<hmac>` of the user id)
would work forever. So every login gets a random id, and the id Flask-Login stores in both
cookies is "<staff id>:<login id>" (Flask-Login's "alternative token"). A request counts as
logged in only while that login is live.

Where a login lives
- SQL holds the truth (models.org.StaffLogin, one row per login): start_login writes and
  commits it; logout (end_login), a new password and deactivation (end_all_logins) set
  ended_at. Logging in and being logged in need only SQL: with Redis down, shift leads keep
  their console.
- Redis holds a short-lived copy of each live login (keys.LOGIN, COPY_TTL = 5 minutes) with
  everything a request needs to know who is asking: staff id, role, name, area, department,
  username, password fingerprint, remember. A request that finds the copy asks SQL nothing
  (read_login), which keeps the walls' callbacks fast.
- A request that finds no copy (it expired, or Redis is unreachable) asks SQL (check_login):
  the row exists and has not ended or expired (remember: REMEMBER after it was made;
  otherwise IDLE after last_seen_at), the person is active with a login role, and their
  password hash still has the login's fingerprint. Then it records last_seen_at (at most
  once per SEEN_EVERY, so at most once per copy) and writes a new copy (best effort).
  A copy never outlives its login's expiry.

What the copy costs (decided, documented rather than closed)
- Ending a login writes SQL first (committed), then deletes the copy (forget_logins). If
  Redis cannot be reached at that moment and comes back still holding the copy, the copy is
  honoured until it expires: at most COPY_TTL after it was written. We keep this one window:
  a marker in Redis ("logins of this person ended at ...") cannot be written while Redis is
  unreachable either, so closing it would mean asking SQL on every request, which is what the
  copy exists to avoid. An outage longer than COPY_TTL leaves nothing to honour (Redis keeps
  a key's expiry as a moment in time, through a restart).
- A change made without end_all_logins (a person deactivated or a password hash rewritten
  in SQL by hand; a new role, area or name) takes effect when the copy expires: within
  COPY_TTL. For at once without logging them out: list_open_logins, commit, forget_logins.
- Activity is recorded when a copy is refreshed, so a login left idle ends between IDLE and
  IDLE + COPY_TTL after its last request.

Redis unreachable: every request asks SQL; each process says so in its log at most once a
minute (OutageNotice), not on every request.
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis as redis_lib
from flask_login import UserMixin
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from models.actor import Actor
from models.enums import Role
from models.org import Staff, StaffLogin
from models.types import utcnow
from workers import keys

log = logging.getLogger(__name__)

# The roles that log into the centre's screens (grid workers and handlers use personal
# API tokens: `python -m dashboard create-token NAME --user USERNAME`).
LOGIN_ROLES = frozenset({Role.OPERATOR, Role.SHIFT_LEAD, Role.LEADER, Role.ADMIN})
REMEMBER = timedelta(days=30)   # "remember this screen": walls are kiosks that run for days
IDLE = timedelta(hours=12)      # otherwise a login ends after this long unused (about a shift)
COPY_TTL = timedelta(minutes=5)  # how long a request may trust the Redis copy without SQL
SEEN_EVERY = COPY_TTL           # last_seen_at is written at most this often per login
OUTAGE_WARNING_EVERY = 60.0     # seconds between "Redis unreachable" warnings (per process)
REDIS_DOWN = (redis_lib.ConnectionError, redis_lib.TimeoutError)


@dataclass(frozen=True, eq=False)
class LoginUser(UserMixin):
    """The logged-in person as Flask-Login sees them: a snapshot read once per request."""

    actor: Actor
    username: str
    login_id: str
    fingerprint: str = ""
    remember: bool = False

    def get_id(self) -> str:
        return f"{self.actor.id}:{self.login_id}"


class OutageNotice:
    """Says "Redis is unreachable" at most once per `every` seconds, however many requests
    fall back to SQL meanwhile (one per app: login.py keeps it in server.extensions)."""

    def __init__(self, every: float = OUTAGE_WARNING_EVERY):
        self.every = every
        self._lock = threading.Lock()
        self._last: float | None = None
        self._quiet = 0

    def warn(self, error: Exception, *, at: float | None = None) -> bool:
        """Log the warning unless one was logged less than `every` seconds ago (`at`:
        time.monotonic()); returns whether it was logged."""
        at = time.monotonic() if at is None else at
        with self._lock:
            if self._last is not None and at - self._last < self.every:
                self._quiet += 1
                return False
            self._last, quiet, self._quiet = at, self._quiet, 0
        log.warning("Redis unreachable (%s): logins are checked in SQL on every request "
                    "(%d quiet fallbacks since the last warning)", error, quiet)
        return True


def fingerprint(password_hash: str | None) -> str:
    """A short digest of the stored hash: a new password changes it and ends old logins."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def parse_user_id(user_id: str) -> tuple[int, str] | None:
    """(staff id, login id) from Flask-Login's stored id, or None if it is not one of ours."""
    staff, _, login_id = (user_id or "").partition(":")
    if not staff.isdigit() or len(login_id) < 16 or login_id[0] not in "rs":
        return None
    return int(staff), login_id


def get_expiry(login: StaffLogin, last_seen_at: datetime | None = None) -> datetime:
    """When the login lapses: REMEMBER after it was made, else IDLE after it was last seen."""
    return login.created_at + REMEMBER if login.remember else (last_seen_at or login.last_seen_at) + IDLE


# ---------------------------------------------------------------- starting and reading

def start_login(session: Session, redis: redis_lib.Redis | None, staff: Staff, *, remember: bool,
                lock: AbstractContextManager | None = None, now: datetime | None = None) -> LoginUser:
    """Record a new login of `staff` in SQL and commit it (with whatever else the session
    holds, e.g. last_login_at), under `lock` (the app's write lock); then write its Redis
    copy. An unreachable Redis does not stop the login: SQL is enough."""
    now = now or utcnow()
    login_id = ("r" if remember else "s") + secrets.token_urlsafe(24)
    user = build_user(staff, login_id, fingerprint(staff.password_hash), remember)
    session.add(StaffLogin(id=login_id, staff_id=staff.id, remember=remember, fingerprint=user.fingerprint,
                           created_at=now, last_seen_at=now))
    with lock or nullcontext():
        session.commit()
    write_copy(redis, user, COPY_TTL)
    return user


def read_login(sessions: sessionmaker[Session], redis: redis_lib.Redis, staff_id: int, login_id: str, *,
               lock: AbstractContextManager | None = None, outage: OutageNotice | None = None,
               now: datetime | None = None) -> LoginUser | None:
    """The person behind a live login, or None (Flask-Login's loader calls this on every
    request): the Redis copy when there is one, with no SQL at all; otherwise check_login,
    after which a new copy is written (unless Redis just failed us). `outage` is the app's
    OutageNotice (without one, every fallback to SQL logs a warning)."""
    reached, raw = True, None
    try:
        raw = redis.get(keys.LOGIN.format(login_id=login_id))
    except redis_lib.RedisError as error:
        reached = False
        (outage or OutageNotice()).warn(error)
    copy = decode_copy(raw, login_id) if raw else None
    if copy is not None:
        return copy if copy.actor.id == staff_id else None
    with sessions() as session:
        found = check_login(session, staff_id, login_id, lock=lock, now=now)
    if found is None:
        return None
    user, ttl = found
    if reached:
        write_copy(redis, user, ttl)
    return user


def check_login(session: Session, staff_id: int, login_id: str, *, lock: AbstractContextManager | None = None,
                now: datetime | None = None) -> tuple[LoginUser, timedelta] | None:
    """Ask SQL whether the login is live (see the module docstring); if it is, note that it
    was seen (committed, at most once per SEEN_EVERY) and return the person with how long a
    copy may be trusted: COPY_TTL, or less when the login expires sooner."""
    now = now or utcnow()
    row = session.execute(select(StaffLogin, Staff).join(Staff, Staff.id == StaffLogin.staff_id)
                          .where(StaffLogin.id == login_id)).first()
    if row is None:
        return None
    login, staff = row
    if (login.staff_id != staff_id or login.ended_at is not None or not staff.active
            or staff.role not in LOGIN_ROLES or fingerprint(staff.password_hash) != login.fingerprint
            or now >= get_expiry(login)):
        return None
    seen = login.last_seen_at
    if now - seen >= SEEN_EVERY:
        with lock or nullcontext():
            session.execute(update(StaffLogin).where(StaffLogin.id == login_id, StaffLogin.ended_at.is_(None))
                            .values(last_seen_at=now))
            session.commit()
        seen = now
    user = build_user(staff, login_id, login.fingerprint, login.remember)
    return user, min(COPY_TTL, get_expiry(login, seen) - now)


# ---------------------------------------------------------------- ending

def end_login(session: Session, redis: redis_lib.Redis | None, login_id: str, *,
              lock: AbstractContextManager | None = None, now: datetime | None = None) -> bool:
    """Logout: mark the login ended in SQL and commit (under `lock`), then delete its Redis
    copy (best effort: see the module docstring). Returns whether it was still open."""
    with lock or nullcontext():
        result = session.execute(update(StaffLogin).where(StaffLogin.id == login_id,
                                                          StaffLogin.ended_at.is_(None))
                                 .values(ended_at=now or utcnow()))
        session.commit()
    forget_logins(redis, [login_id])
    return bool(result.rowcount)


def end_all_logins(session: Session, redis: redis_lib.Redis | None, staff_id: int) -> int:
    """End every open login of one person (a new password, deactivation); returns how many.

    How to use it: call it in the same session as the change that needs it, then commit
    that session yourself; this function does not commit. The logins end with your commit
    (a rollback keeps them), and right after the commit their Redis copies are deleted
    (an after_commit hook this function puts on the session, calling forget_logins; a
    later commit of a rolled-back session would delete them too, which only costs those
    logins one SQL check each). With `redis` None, or Redis unreachable then, the copies
    lapse within COPY_TTL. Nothing else to call:

        staff.active = False
        end_all_logins(session, services.redis, staff.id)
        session.commit()      # logins ended in SQL, then their copies deleted
    """
    ended = list(session.scalars(
        update(StaffLogin).where(StaffLogin.staff_id == staff_id, StaffLogin.ended_at.is_(None))
        .values(ended_at=utcnow()).returning(StaffLogin.id)))
    if ended and redis is not None:
        event.listen(session, "after_commit", lambda _session: forget_logins(redis, ended), once=True)
    return len(ended)


def list_open_logins(session: Session, staff_id: int) -> list[str]:
    """The ids of one person's open logins: to make a change of their role, area or name
    show at once without logging them out, take these before committing the change, then
    forget_logins(redis, ids) after the commit (otherwise it shows within COPY_TTL)."""
    return list(session.scalars(select(StaffLogin.id).where(StaffLogin.staff_id == staff_id,
                                                            StaffLogin.ended_at.is_(None))))


def forget_logins(redis: redis_lib.Redis | None, login_ids: Iterable[str]) -> None:
    """Delete the Redis copies of logins already ended in SQL (call it after the commit:
    a copy deleted before it would be rewritten by a request in between). Never raises:
    a copy it cannot delete lapses within COPY_TTL."""
    names = [keys.LOGIN.format(login_id=login_id) for login_id in login_ids]
    if redis is None or not names:
        return
    try:
        redis.delete(*names)
    except redis_lib.RedisError as error:
        log.warning("could not delete %d login copies from Redis (%s): they lapse within %s",
                    len(names), error, COPY_TTL)


# ---------------------------------------------------------------- the Redis copy

def build_user(staff: Staff, login_id: str, print_: str, remember: bool) -> LoginUser:
    return LoginUser(Actor.from_staff(staff), staff.username or "", login_id, print_, remember)


def encode_copy(user: LoginUser) -> str:
    actor = user.actor
    return json.dumps({"staff_id": actor.id, "role": Role(actor.role).value, "name": actor.name,
                       "area_id": actor.area_id, "department_id": actor.department_id,
                       "username": user.username, "fingerprint": user.fingerprint,
                       "remember": user.remember}, ensure_ascii=False, separators=(",", ":"))


def decode_copy(raw: str, login_id: str) -> LoginUser | None:
    """The person in a copy; None for anything unreadable (then SQL decides)."""
    try:
        data = json.loads(raw)
        actor = Actor(Role(data["role"]), data["name"], int(data["staff_id"]), data["area_id"],
                      data["department_id"])
        return LoginUser(actor, data["username"], login_id, data["fingerprint"], bool(data["remember"]))
    except (ValueError, KeyError, TypeError):
        return None


def write_copy(redis: redis_lib.Redis | None, user: LoginUser, ttl: timedelta) -> bool:
    """Best effort: without a copy the next request asks SQL. Returns whether it was written."""
    if redis is None:
        return False
    try:
        redis.set(keys.LOGIN.format(login_id=user.login_id), encode_copy(user),
                  ex=max(1, int(ttl.total_seconds())))
    except redis_lib.RedisError as error:
        log.warning("could not write login %s…'s copy to Redis (%s): requests ask SQL",
                    user.login_id[:6], error)
        return False
    return True
