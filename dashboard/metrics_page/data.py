"""What the metrics page shows for one area and one range of local days, as plain data.

Every figure comes from models.metrics: get_range sums the daily rows' raw counts and makes
the rates from those sums (never an average of daily rates), list_rankings ranks. This
module decides who may see which area (leaders: their area and everything beneath it;
admins: all) and which range is asked for, and gathers the figures into one `MetricsView`.
Callers pass the Actor they got from the login (dashboard.auth.access.current_actor): an
area code from the browser is only ever a request, checked here every time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from dashboard.metrics_page.definitions import RANKABLE
from dashboard.metrics_page.rankings import (
    DEPARTMENT_LEVELS, Ranking, list_child_rankings, list_department_rankings,
)
from models.actor import Actor
from models.area import Area
from models.enums import AreaLevel, Role
from models.errors import Forbidden, Invalid, NotFound
from models.metrics import ALL_CATEGORIES, COUNTS, DailyMetric, get_local_day, get_range, get_rates
from models.types import utcnow

METRICS_ROLES = frozenset({Role.LEADER, Role.ADMIN})  # = dashboard.auth.access.PAGE_ROLES["metrics"]
DEFAULT_DAYS = 7   # the last seven whole days
MAX_DAYS = 366     # a longer range is cut to its last year
DEFAULT_INDICATOR = "on_time_closure_rate"


@dataclass(frozen=True)
class Period:
    """The local days [start, end], both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def list_days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except (TypeError, ValueError):
        return None


def get_period(start_text: str | None, end_text: str | None, today: date | None = None) -> Period:
    """The range a URL asks for, made sensible: the last seven whole days when it says
    nothing (or nonsense), never past today, start before end, at most MAX_DAYS long."""
    today = today or get_local_day(utcnow())
    end = min(_parse_day(end_text) or today - timedelta(days=1), today)
    start = min(_parse_day(start_text) or end - timedelta(days=DEFAULT_DAYS - 1), today)
    start, end = min(start, end), max(start, end)
    return Period(max(start, end - timedelta(days=MAX_DAYS - 1)), end)


# ---------------------------------------------------------------- who sees what

def covers(actor: Actor, area: Area) -> bool:
    """Whether the area is the actor's own or beneath it (an admin covers every area)."""
    if actor.role == Role.ADMIN:
        return True
    return actor.area_id is not None and actor.area_id in area.path_ids()


def get_home_area(session: Session, actor: Actor) -> Area:
    """Where the actor's page opens: their own area (an admin without one: the city)."""
    if actor.area_id is not None:
        area = session.get(Area, actor.area_id)
        if area is not None:
            return area
    if actor.role != Role.ADMIN:
        raise Forbidden(f"{actor.name} has no area to read metrics for")
    area = session.scalars(select(Area).where(Area.level == AreaLevel.CITY).order_by(Area.id)).first()
    if area is None:
        raise NotFound("there is no city in the database")
    return area


def get_area(session: Session, actor: Actor, code: str | None) -> Area:
    """The area a page asks for (by code; none: the actor's own), if the actor may read it.
    Raises Forbidden for a role without metrics or an area outside the jurisdiction."""
    if actor is None or actor.role not in METRICS_ROLES:
        raise Forbidden("only leaders and admins read the metrics")
    if not code:
        return get_home_area(session, actor)
    area = session.scalars(select(Area).where(Area.code == code)).one_or_none()
    if area is None or area.level == AreaLevel.GRID:
        raise NotFound(f"no area {code!r} with metrics")
    if not covers(actor, area):
        raise Forbidden(f"area {code} is outside {actor.name}'s jurisdiction")
    return area


def list_trail(session: Session, actor: Actor, area: Area) -> list[Area]:
    """The breadcrumb: from the top of the actor's jurisdiction down to `area`."""
    path = list(area.path_ids())
    top = path.index(actor.area_id) if actor.area_id in path else 0
    rows = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_(path[top:])))}
    return [rows[i] for i in path[top:] if i in rows]


# ---------------------------------------------------------------- figures

def list_trend(session: Session, area_id: int, period: Period) -> list[dict]:
    """One entry per day of the period: that day's counts and rates. A day without a row
    had nothing to count (rows with every count zero are not written)."""
    rows = session.execute(
        select(DailyMetric.day, *(getattr(DailyMetric, c) for c in COUNTS))
        .where(DailyMetric.area_id == area_id, DailyMetric.category_id == ALL_CATEGORIES,
               DailyMetric.day.between(period.start, period.end)))
    by_day = {row[0]: dict(zip(COUNTS, row[1:])) for row in rows}
    trend = []
    for day in period.list_days():
        counts = by_day.get(day, dict.fromkeys(COUNTS, 0))
        trend.append({"day": day, **counts, **get_rates(counts)})
    return trend


def has_rows(session: Session, area_id: int | None = None, period: Period | None = None) -> bool:
    """Whether any daily row exists (for the area and period when given)."""
    query = exists().where(DailyMetric.category_id == ALL_CATEGORIES)
    if area_id is not None:
        query = query.where(DailyMetric.area_id == area_id)
    if period is not None:
        query = query.where(DailyMetric.day.between(period.start, period.end))
    return bool(session.scalar(select(query)))


def get_latest_day(session: Session) -> date | None:
    return session.scalar(select(func.max(DailyMetric.day)))


@dataclass
class MetricsView:
    area: Area
    trail: list[Area]
    period: Period
    current: dict            # models.metrics.get_range over the period
    before: dict             # the same over the previous period of the same length
    trend: list[dict]
    children: Ranking
    departments: Ranking
    department_levels: tuple[AreaLevel, ...]
    has_data: bool           # the area has rows in the period
    computed: bool           # the metric table has any rows at all
    today: date = field(default_factory=lambda: get_local_day(utcnow()))

    @property
    def indicator(self) -> str:
        return self.children.indicator


def get_view(session: Session, actor: Actor, code: str | None, period: Period,
             indicator: str = DEFAULT_INDICATOR, department_level: str | None = None) -> MetricsView:
    """Everything the page shows. Raises Forbidden / NotFound for an area the actor may not
    read, Invalid for an indicator that cannot be ranked or a department level not inside."""
    area = get_area(session, actor, code)
    if indicator not in RANKABLE:
        raise Invalid("indicator", f"{indicator!r} is not a ranking indicator")
    levels = DEPARTMENT_LEVELS[area.level]
    level = AreaLevel(department_level) if department_level in levels else levels[0]
    if department_level and department_level not in levels:
        raise Invalid("department_level", f"no {department_level} departments under {area.code}")
    before = period.previous()
    return MetricsView(
        area=area, trail=list_trail(session, actor, area), period=period,
        current=get_range(session, area.id, period.start, period.end),
        before=get_range(session, area.id, before.start, before.end),
        trend=list_trend(session, area.id, period),
        children=list_child_rankings(session, area, period.start, period.end, indicator),
        departments=list_department_rankings(session, area, period.start, period.end,
                                             indicator, level),
        department_levels=levels, has_data=has_rows(session, area.id, period),
        computed=has_rows(session))
