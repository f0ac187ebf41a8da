"""Accounts on /admin: list, create, change, deactivate or reactivate, reset a password.

The people listed and changed are the ones who log into the centre's screens (operators,
shift leads, leaders, admins) whose area the admin manages (scope.py). Each change is
checked against the record as it is in SQL, writes one audit row, and leaves the commit to
the caller. A change that alters what a person may do (deactivation, a new password, a new
role or area) is returned with `ends_logins`, and the caller ends that person's logins in
the same transaction.

An admin cannot deactivate themselves, change their own role or area, or reset their own
password here (another admin can; the `set-password` command can): nobody locks
themselves out from the page they are using.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import false, func, select
from sqlalchemy.orm import Session

from dashboard.admin.audit import (
    check_loaded,
    record_change,
    take_snapshot,
    update_if_unchanged,
)
from dashboard.admin.forms import (
    USER_ROLES,
    NewUser,
    PasswordReset,
    Refused,
    UserChange,
)
from dashboard.admin.scope import (
    area_clause,
    get_admin_area,
    manages,
    require_admin,
    require_area,
)
from dashboard.auth import accounts
from dashboard.auth.access import get_names
from dashboard.auth.passwords import hash_password
from dashboard.wall.names import Named
from models.actor import Actor
from models.area import Area
from models.enums import Role
from models.errors import Invalid, NotFound
from models.org import Staff

LIST_LIMIT = 500
ACCOUNT_ROLES = tuple(Role(r) for r in USER_ROLES)


@dataclass(frozen=True)
class Done:
    """What a change did: the record, the audit's change name, whether anything changed,
    and whether the person's logins must end."""

    staff: Staff
    change: str | None
    ends_logins: bool = False


def list_users(session: Session, actor: Actor, *, role=None, area_id=None, active=None,
               limit: int = LIST_LIMIT) -> tuple[list[Staff], int]:
    """(the accounts, newest first so a new one shows at the top, at most `limit`; and how
    many match) under the filters;
    a filter the browser sent that is not a managed area or a known role matches nothing."""
    require_admin(actor)
    own = get_admin_area(actor)
    query = (select(Staff).join(Area, Area.id == Staff.area_id)
             .where(Staff.role.in_(ACCOUNT_ROLES), Staff.username.is_not(None), area_clause(own)))
    if role not in (None, ""):
        query = query.where(Staff.role == role) if isinstance(role, str) and role in USER_ROLES \
            else query.where(false())
    if area_id not in (None, ""):
        area = _managed_area(actor, area_id)
        query = query.where(area_clause(area))
    if isinstance(active, str) and active in ("yes", "no"):
        query = query.where(Staff.active.is_(active == "yes"))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(session.scalars(query.order_by(Staff.id.desc()).limit(limit)))
    return rows, total


def _managed_area(actor: Actor, area_id) -> Named | None:
    if not isinstance(area_id, int) or isinstance(area_id, bool) or not manages(actor, area_id):
        return None
    return get_names().area(area_id)


def get_managed_staff(session: Session, actor: Actor, staff_id) -> Staff:
    """An account this admin manages. An id outside the admin's area answers exactly as one
    that does not exist."""
    require_admin(actor)
    if not isinstance(staff_id, int) or isinstance(staff_id, bool):
        raise NotFound("no such user", field="id")
    staff = session.get(Staff, staff_id)
    if (staff is None or staff.role not in ACCOUNT_ROLES or staff.username is None
            or not manages(actor, staff.area_id)):
        raise NotFound("no such user", field="id")
    return staff


def do_create_user(session: Session, actor: Actor, form: NewUser, now: datetime) -> Done:
    """A new account, through the same accounts.create_user as the CLI (same username and
    password rules, argon2 hash); its area must be one this admin manages."""
    require_admin(actor)
    area = require_area(actor, form.area_id)
    if session.scalar(select(Staff.id).where(Staff.username == form.username)) is not None:
        raise Refused.one("username", "taken", value=form.username)
    try:
        staff = accounts.create_user(session, form.username, role=form.role, area_code=area.code,
                                     password=form.password, name=form.name)
    except Invalid as exc:  # the CLI's checks, should a rule there be stricter than ours
        raise Refused.one({"area": "area_id"}.get(exc.field, exc.field or "username"), exc.detail) from None
    record_change(session, actor, "staff", staff.id, "create", None, take_snapshot(staff), now)
    return Done(staff, "create")


def do_update_user(session: Session, actor: Actor, staff_id, loaded, form: UserChange,
                   now: datetime) -> Done:
    """New name, role or area. A new role or area ends the person's logins: the next one
    carries the new rights."""
    staff = get_managed_staff(session, actor, staff_id)
    before = check_loaded(staff, loaded)
    if staff.id == actor.id and (form.role != staff.role or form.area_id != staff.area_id):
        raise Refused.one("role" if form.role != staff.role else "area_id", "self_role")
    require_area(actor, form.area_id)
    values = {"name": form.name, "role": Role(form.role), "area_id": form.area_id}
    after = {**before, **{k: getattr(v, "value", v) for k, v in values.items()}}
    if after == before:
        return Done(staff, None)
    update_if_unchanged(session, staff, before, values)
    record_change(session, actor, "staff", staff.id, "update", before, after, now)
    rights = before["role"] != after["role"] or before["area_id"] != after["area_id"]
    return Done(staff, "update", ends_logins=rights)


def do_set_active(session: Session, actor: Actor, staff_id, loaded, active, now: datetime) -> Done:
    """Deactivate (the person's logins end) or reactivate an account."""
    staff = get_managed_staff(session, actor, staff_id)
    before = check_loaded(staff, loaded)
    if not isinstance(active, bool):
        raise Refused.one("active", "missing")
    if staff.id == actor.id and not active:
        raise Refused.one("active", "self_deactivate")
    if staff.active == active:
        return Done(staff, None)
    update_if_unchanged(session, staff, before, {"active": active})
    change = "reactivate" if active else "deactivate"
    record_change(session, actor, "staff", staff.id, change, before, {**before, "active": active}, now)
    return Done(staff, change, ends_logins=not active)


def do_reset_password(session: Session, actor: Actor, staff_id, loaded, form: PasswordReset,
                      now: datetime) -> Done:
    """A new password (argon2, the CLI's rule); the person's logins end. The audit row says
    only that a password was set."""
    staff = get_managed_staff(session, actor, staff_id)
    before = check_loaded(staff, loaded)
    if staff.id == actor.id:
        raise Refused.one("password", "self_password")
    had_one = staff.password_hash is not None
    update_if_unchanged(session, staff, before, {"password_hash": hash_password(form.password)})
    record_change(session, actor, "staff", staff.id, "set_password",
                  {**before, "password": "set" if had_one else None},
                  {**before, "password": "reset"}, now)
    return Done(staff, "set_password", ends_logins=True)
