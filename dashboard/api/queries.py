"""Listing incidents: filters and keyset paging, newest first (by id, a stable order)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from dashboard.api.reference import Reference
from dashboard.api.schemas import MAX_ID, ListQuery
from models import Incident
from models.enums import CLOSED_STATES, AreaLevel
from models.errors import Invalid

AREA_COLUMN = {AreaLevel.CITY: Incident.city_id, AreaLevel.TOWN: Incident.town_id,
               AreaLevel.VILLAGE: Incident.village_id, AreaLevel.GRID: Incident.grid_id}


def _open():
    return Incident.state.notin_(CLOSED_STATES)


def filter_area(query: Select, session: Session, ref: Reference, code: str) -> Select:
    area = ref.get_area(session, code)
    if area is None:
        raise Invalid("area", f"no area with code {code!r}")
    return query.where(AREA_COLUMN[area.level] == area.id)


def filter_category(query: Select, ref: Reference, key_or_code: str) -> Select:
    category = ref.get_category(key_or_code)
    if category is None:
        raise Invalid("category", f"no category with key or number {key_or_code!r}")
    return query.where(Incident.category_id == category.id)


def filter_overdue(query: Select, overdue: bool, now: datetime) -> Select:
    if overdue:
        return query.where(_open(), Incident.due_at < now)
    return query.where(or_(~_open(), Incident.due_at.is_(None), Incident.due_at >= now))


def parse_cursor(cursor: str) -> int:
    if not cursor.isdigit() or not 0 < int(cursor) <= MAX_ID:
        raise Invalid("cursor", "not a cursor this API gave out")
    return int(cursor)


def build_query(session: Session, ref: Reference, q: ListQuery, now: datetime) -> Select:
    query = select(Incident)
    if q.area is not None:
        query = filter_area(query, session, ref, q.area)
    if q.category is not None:
        query = filter_category(query, ref, q.category)
    if q.state:
        query = query.where(Incident.state.in_(q.states()))
    if q.level is not None:
        query = query.where(Incident.level == q.level)
    if q.overdue is not None:
        query = filter_overdue(query, q.overdue, now)
    if q.reported_from is not None:
        query = query.where(Incident.reported_at >= q.reported_from)
    if q.reported_to is not None:
        query = query.where(Incident.reported_at < q.reported_to)
    return query


def list_incidents(session: Session, ref: Reference, q: ListQuery, now: datetime, *,
                   scope: ColumnElement[bool] | None = None) -> tuple[list[Incident], str | None]:
    """One page, and the cursor of the next one (None on the last page). `scope` is the
    caller's jurisdiction (dashboard.auth.access.jurisdiction_clause)."""
    query = build_query(session, ref, q, now).order_by(Incident.id.desc()).limit(q.limit + 1)
    if scope is not None:
        query = query.where(scope)
    if q.cursor is not None:
        query = query.where(Incident.id < parse_cursor(q.cursor))
    if q.offset:
        query = query.offset(q.offset)
    rows = list(session.scalars(query))
    more = len(rows) > q.limit
    return rows[:q.limit], (str(rows[q.limit - 1].id) if more else None)
