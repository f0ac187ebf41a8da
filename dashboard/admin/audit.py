"""The audit log of admin changes, and the "as loaded" check that stops lost updates.

Every change writes one AdminChange row in the same transaction as the change itself:
who, when, what, and the record before and after as plain JSON (a password hash is never
in it: a snapshot has no hash, and a reset records only that a password was set).

The tables have no version column, so the edit forms keep the record as it was loaded (a
snapshot, sent back with the save). A save first compares it with the record in SQL and
refuses a difference as a Conflict showing the record as it is now; the UPDATE or DELETE
itself then names every snapshot column in its WHERE clause, so of two admins racing,
exactly one changes the row and the other finds no row to change (Conflict again).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from dashboard.admin.forms import Conflict
from dashboard.admin.scope import area_clause, get_admin_area, is_city_admin
from models.actor import Actor
from models.area import Area
from models.catalogue import Item, SlaRule
from models.org import AdminChange, Staff

# The columns a snapshot holds, per table (never Staff.password_hash).
SNAPSHOT = {
    Staff: ("id", "username", "name", "role", "area_id", "active"),
    Item: ("id", "code", "category_id", "name_zh", "name_en", "default_priority"),
    SlaRule: ("id", "stage", "priority", "category_id", "item_id", "minutes", "clock"),
}
ENTITY = {Staff: "staff", Item: "item", SlaRule: "sla_rule"}
RECENT = 50


def _plain(value):
    return getattr(value, "value", value)  # enums as their strings


def take_snapshot(row) -> dict:
    """The record as plain JSON values: what the edit form keeps, and what the audit stores."""
    return {column: _plain(getattr(row, column)) for column in SNAPSHOT[type(row)]}


def check_loaded(row, loaded) -> dict:
    """The row's snapshot, if it is what the admin loaded; else Conflict with the row as it is."""
    current = take_snapshot(row)
    if not isinstance(loaded, dict) or {k: loaded.get(k) for k in current} != current:
        raise Conflict(current)
    return current


def _unchanged(model, snapshot: dict):
    return and_(*(getattr(model, column).is_not_distinct_from(value)
                  for column, value in _typed(model, snapshot).items()))


def _typed(model, snapshot: dict) -> dict:
    """The snapshot's values as the columns hold them (enum strings back to enums)."""
    typed = {}
    for column, value in snapshot.items():
        enum = getattr(getattr(model, column).type, "enum_class", None)
        typed[column] = enum(value) if enum is not None and value is not None else value
    return typed


def update_if_unchanged(session: Session, row, snapshot: dict, values: dict) -> None:
    """UPDATE the row to `values` only if it still matches `snapshot`; Conflict if it does not."""
    model = type(row)
    done = session.execute(update(model).where(model.id == row.id, _unchanged(model, snapshot))
                           .values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(None)
    session.expire(row)


def delete_if_unchanged(session: Session, row, snapshot: dict) -> None:
    model = type(row)
    done = session.execute(delete(model).where(model.id == row.id, _unchanged(model, snapshot))
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(None)
    session.expunge(row)


def record_change(session: Session, actor: Actor, entity: str, entity_id: int | None, change: str,
                  before: dict | None, after: dict | None, now: datetime) -> AdminChange:
    """One audit row, in the caller's transaction (the caller commits both together)."""
    row = AdminChange(at=now, actor_id=actor.id, actor_name=actor.name[:64], entity=entity,
                      entity_id=entity_id, change=change, before=before, after=after)
    session.add(row)
    session.flush()
    return row


def list_changes(session: Session, actor: Actor, limit: int = RECENT) -> list[AdminChange]:
    """The newest changes this admin may read: a city admin all of them; another admin the
    catalogue's and the rules' (city-wide, read by every admin), their own, and those to
    accounts in their area."""
    query: Select = select(AdminChange).order_by(AdminChange.id.desc()).limit(limit)
    if not is_city_admin(actor):
        in_area = select(Staff.id).join(Area, Area.id == Staff.area_id).where(
            area_clause(get_admin_area(actor)))
        query = query.where(or_(AdminChange.entity.in_(("item", "sla_rule")),
                                AdminChange.actor_id == actor.id,
                                and_(AdminChange.entity == "staff", AdminChange.entity_id.in_(in_area))))
    return list(session.scalars(query))


def list_changed_fields(before: dict | None, after: dict | None) -> list[tuple[str, object, object]]:
    """(field, before, after) for each field that differs; everything for a create or delete."""
    before, after = before or {}, after or {}
    return [(k, before.get(k), after.get(k)) for k in dict.fromkeys([*before, *after])
            if before.get(k) != after.get(k) and k != "id"]
