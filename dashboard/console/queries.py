"""The shift lead's queue: the incidents of their jurisdiction, filtered and sorted by deadline.

Jurisdiction is an area and everything beneath it (models.actor.Actor.covers): an incident
belongs to a lead's queue when the lead's area is on its path. The path is stored on the
incident (city_id, town_id, village_id, grid_id, area_id), so the filter is one indexed
column per level and never a recursive query. Admins see everything.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, case, false, func, or_, select, true
from sqlalchemy.orm import Session

from models.actor import Actor
from models.area import Area
from models.catalogue import Category
from models.enums import CLOSED_STATES, AreaLevel, Role, State
from models.errors import Invalid
from models.incident import Incident
from models.org import Department

PAGE_SIZE = 50
OPEN_STATES = tuple(s for s in State if s not in CLOSED_STATES)
EVERYWHERE = frozenset({Role.ADMIN, Role.SYSTEM})

INCIDENT_COLUMN = {AreaLevel.CITY: Incident.city_id, AreaLevel.TOWN: Incident.town_id,
                   AreaLevel.VILLAGE: Incident.village_id, AreaLevel.GRID: Incident.grid_id}


@dataclass(frozen=True)
class QueueFilters:
    """What the lead asked for. No states means every open state."""

    states: tuple[State, ...] = ()
    category_id: int | None = None
    overdue: bool = False
    level: AreaLevel | None = None
    department_id: int | None = None

    @classmethod
    def from_inputs(cls, states=None, category_id=None, overdue=None, level=None,
                    department_id=None) -> QueueFilters:
        """From the browser's values, which are strings, lists or None: anything that is
        not a known state, level or whole number is refused with the field named."""
        return cls(states=tuple(_coerce("state", State, s) for s in (states or ())),
                   category_id=parse_id("category_id", category_id),
                   overdue=bool(overdue),
                   level=_coerce("level", AreaLevel, level) if level else None,
                   department_id=parse_id("department_id", department_id))


@dataclass
class QueuePage:
    incidents: list[Incident]
    total: int
    page: int
    page_count: int
    filters: QueueFilters = field(default_factory=QueueFilters)


def _coerce(name: str, enum_cls, value):
    try:
        return enum_cls(value)
    except ValueError:
        raise Invalid(name, f"{value!r} is not a known {name}") from None


def parse_id(name: str, value) -> int | None:
    """A positive id from a dropdown (an int) or a text field (digits); None when empty."""
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    else:
        raise Invalid(name, f"{value!r} is not an id")
    if number <= 0:
        raise Invalid(name, f"{value!r} is not an id")
    return number

# ---------------------------------------------------------------- jurisdiction

def get_actor_area(session: Session, actor: Actor) -> Area | None:
    return session.get(Area, actor.area_id) if actor.area_id is not None else None


def get_jurisdiction(session: Session, actor: Actor) -> ColumnElement[bool]:
    """SQL condition for "the incident lies in the actor's jurisdiction", the same rule as
    Actor.covers: the actor's area is one of the ids on the incident's path."""
    if actor.role in EVERYWHERE:
        return true()
    area = get_actor_area(session, actor)
    if area is None:
        return false()
    return or_(INCIDENT_COLUMN[area.level] == area.id, Incident.area_id == area.id)


# ---------------------------------------------------------------- the queue

def build_conditions(session: Session, actor: Actor, filters: QueueFilters,
                     now: datetime) -> list[ColumnElement[bool]]:
    states = filters.states or OPEN_STATES
    conditions = [get_jurisdiction(session, actor), Incident.state.in_(states)]
    if filters.category_id is not None:
        conditions.append(Incident.category_id == filters.category_id)
    if filters.overdue:
        conditions += [Incident.due_at.is_not(None), Incident.due_at < now]
    if filters.level is not None:
        conditions.append(Incident.level == filters.level)
    if filters.department_id is not None:
        conditions.append(Incident.department_id == filters.department_id)
    return conditions


def list_queue(session: Session, actor: Actor, filters: QueueFilters, *, now: datetime,
               page: int = 0, page_size: int = PAGE_SIZE) -> QueuePage:
    """One page of the queue, soonest deadline first; incidents with no running deadline
    (parked, closed) come last, then by id."""
    conditions = build_conditions(session, actor, filters, now)
    total = session.scalar(select(func.count()).select_from(Incident).where(*conditions)) or 0
    page_count = max(1, -(-total // page_size))
    page = min(max(0, int(page or 0)), page_count - 1)
    no_deadline_last = case((Incident.due_at.is_(None), 1), else_=0)
    query = (select(Incident).where(*conditions)
             .order_by(no_deadline_last, Incident.due_at, Incident.id)
             .offset(page * page_size).limit(page_size))
    return QueuePage(list(session.scalars(query)), total, page, page_count, filters)


def list_covered_incidents(session: Session, actor: Actor, ids: Iterable[int]) -> list[Incident]:
    """The incidents among `ids` the actor covers (ids from a browser are never trusted)."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return []
    query = select(Incident).where(Incident.id.in_(wanted), get_jurisdiction(session, actor))
    return [i for i in session.scalars(query.order_by(Incident.id)) if actor.covers(i)]


# ---------------------------------------------------------------- filter options and names

def list_categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.code)))


def list_queue_departments(session: Session, actor: Actor) -> dict[int, tuple[str, str]]:
    """The departments holding open incidents of the actor's jurisdiction (the department
    filter's choices): a handful, where every department of the city would be ~1,900."""
    held = (select(Incident.department_id).where(get_jurisdiction(session, actor),
                                                 Incident.state.in_(OPEN_STATES),
                                                 Incident.department_id.is_not(None)).distinct())
    return list_department_names(session, session.scalars(held))


def list_department_names(session: Session, ids: Iterable[int | None]) -> dict[int, tuple[str, str]]:
    """{id: (name_zh, name_en)} of the named departments."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Department.id, Department.name_zh, Department.name_en)
                           .where(Department.id.in_(wanted)))
    return {r.id: (r.name_zh, r.name_en or r.name_zh) for r in rows}
