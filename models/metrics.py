"""Daily metrics: the rollup tables leaders read, the indicator formulas, and range reads.

One row per (local day, area, category) — areas at city, town and village level, category
0 meaning all categories — and one per (local day, department). Rows hold raw counts, so a
rate over any range is a sum of counts divided, never an average of daily rates; the daily
rates are stored too, for convenience. docs/metrics.md defines every indicator; the
computing is in workers/metrics.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
from sqlalchemy import (
    BigInteger, Date, Float, ForeignKey, Index, Integer, UniqueConstraint, func, select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.area import Area
from models.base import Base, BigId, str_enum
from models.enums import EXCLUDED_STATES, AreaLevel
from models.errors import Invalid
from models.incident import Incident, IncidentEvent
from models.org import Department
from models.sla import CITY_ZONE
from models.types import UTCDateTime

ALL_CATEGORIES = 0  # category_id of the row that covers every category
MIN_CASES = 30  # DOMAIN.md: rankings only show an area with at least 30 cases
TOO_FEW = "too few cases"

# Counted on the day the event happened (flow): summed over a range.
FLOWS = (
    "reported", "accepted", "self_handled", "dispatched", "returned", "resolved", "closed",
    "closed_on_time", "reopened", "reworked", "checked", "postponed", "escalated",
    "reassigned", "breached", "accept_done", "accept_on_time", "dispatch_done",
    "dispatch_on_time", "handle_done", "handle_on_time", "check_done", "check_on_time",
    "disputes_closed", "disputes_mediated", "feedback", "satisfied", "handling_seconds",
)
# Read at the end of the day (stock): over a range, the value on its last day.
STOCKS = ("open_end", "overdue_end")
COUNTS = FLOWS + STOCKS


@dataclass(frozen=True)
class Rate:
    """numerator ÷ denominator over summed counts (1 − that when `complement`)."""

    name: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    complement: bool = False
    higher_is_better: bool = True

    def cases(self, counts) -> int:
        return int(sum(counts[c] or 0 for c in self.denominator))

    def value(self, counts) -> float | None:
        cases = self.cases(counts)
        if cases == 0:
            return None
        share = sum(counts[c] or 0 for c in self.numerator) / cases
        return 1 - share if self.complement else share


RATES = {r.name: r for r in (
    Rate("on_time_closure_rate", ("closed_on_time",), ("closed", "overdue_end")),
    Rate("closure_rate", ("closed",), ("accepted",)),
    Rate("accept_on_time_rate", ("accept_on_time",), ("accept_done",)),
    Rate("dispatch_on_time_rate", ("dispatch_on_time",), ("dispatch_done",)),
    Rate("handle_on_time_rate", ("handle_on_time",), ("handle_done",)),
    Rate("check_on_time_rate", ("check_on_time",), ("check_done",)),
    Rate("dispatch_accuracy", ("returned",), ("dispatched",), complement=True),
    Rate("rework_rate", ("reworked",), ("checked",), higher_is_better=False),
    Rate("postponement_rate", ("postponed",), ("dispatched",), higher_is_better=False),
    Rate("self_handled_share", ("self_handled",), ("accepted",)),
    Rate("dispute_resolution_rate", ("disputes_mediated",), ("disputes_closed",)),
    Rate("satisfaction_rate", ("satisfied",), ("feedback",)),
    Rate("handling_mean_s", ("handling_seconds",), ("closed",), higher_is_better=False),
)}
PERCENTILES = ("handling_median_s", "handling_p90_s")


class MetricColumns:
    """Counts, the daily rates made from them, and the handling-time percentiles."""

    reported: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    self_handled: Mapped[int] = mapped_column(Integer, default=0)
    dispatched: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    closed_on_time: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    reworked: Mapped[int] = mapped_column(Integer, default=0)
    checked: Mapped[int] = mapped_column(Integer, default=0)
    postponed: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[int] = mapped_column(Integer, default=0)
    reassigned: Mapped[int] = mapped_column(Integer, default=0)
    breached: Mapped[int] = mapped_column(Integer, default=0)
    accept_done: Mapped[int] = mapped_column(Integer, default=0)
    accept_on_time: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_done: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_on_time: Mapped[int] = mapped_column(Integer, default=0)
    handle_done: Mapped[int] = mapped_column(Integer, default=0)
    handle_on_time: Mapped[int] = mapped_column(Integer, default=0)
    check_done: Mapped[int] = mapped_column(Integer, default=0)
    check_on_time: Mapped[int] = mapped_column(Integer, default=0)
    disputes_closed: Mapped[int] = mapped_column(Integer, default=0)
    disputes_mediated: Mapped[int] = mapped_column(Integer, default=0)
    feedback: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    handling_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    open_end: Mapped[int] = mapped_column(Integer, default=0)
    overdue_end: Mapped[int] = mapped_column(Integer, default=0)

    on_time_closure_rate: Mapped[float | None] = mapped_column(Float)
    closure_rate: Mapped[float | None] = mapped_column(Float)
    accept_on_time_rate: Mapped[float | None] = mapped_column(Float)
    dispatch_on_time_rate: Mapped[float | None] = mapped_column(Float)
    handle_on_time_rate: Mapped[float | None] = mapped_column(Float)
    check_on_time_rate: Mapped[float | None] = mapped_column(Float)
    dispatch_accuracy: Mapped[float | None] = mapped_column(Float)
    rework_rate: Mapped[float | None] = mapped_column(Float)
    postponement_rate: Mapped[float | None] = mapped_column(Float)
    self_handled_share: Mapped[float | None] = mapped_column(Float)
    dispute_resolution_rate: Mapped[float | None] = mapped_column(Float)
    satisfaction_rate: Mapped[float | None] = mapped_column(Float)
    handling_mean_s: Mapped[float | None] = mapped_column(Float)
    handling_median_s: Mapped[float | None] = mapped_column(Float)
    handling_p90_s: Mapped[float | None] = mapped_column(Float)

    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DailyMetric(MetricColumns, Base):
    """One local day × one area (city, town or village) × one category (0 = all)."""

    __tablename__ = "daily_metric"
    __table_args__ = (
        UniqueConstraint("day", "area_id", "category_id", name="uq_daily_metric_key"),
        Index("ix_daily_metric_area_day", "area_id", "category_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    level: Mapped[AreaLevel] = mapped_column(str_enum(AreaLevel))
    # Not a foreign key: 0 stands for all categories (NULLs would not be unique in PostgreSQL).
    category_id: Mapped[int] = mapped_column(Integer)


class DailyDepartmentMetric(MetricColumns, Base):
    """One local day × one department, for rankings between departments."""

    __tablename__ = "daily_department_metric"
    __table_args__ = (
        UniqueConstraint("day", "department_id", name="uq_daily_department_metric_key"),
        Index("ix_daily_department_metric_level_day", "level", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    level: Mapped[AreaLevel] = mapped_column(str_enum(AreaLevel))


# ---------------------------------------------------------------- days and rates

def get_day_window(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local day in the city's zone, as aware UTC datetimes."""
    start = datetime.combine(day, time(0), CITY_ZONE)
    end = datetime.combine(day + timedelta(days=1), time(0), CITY_ZONE)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def get_local_day(moment: datetime) -> date:
    return moment.astimezone(CITY_ZONE).date()


def get_rates(counts) -> dict[str, float | None]:
    return {name: rate.value(counts) for name, rate in RATES.items()}


def get_percentiles(seconds: np.ndarray) -> dict[str, float | None]:
    if len(seconds) == 0:
        return dict.fromkeys(PERCENTILES)
    median, p90 = np.percentile(seconds, [50, 90])
    return {"handling_median_s": float(median), "handling_p90_s": float(p90)}


# ---------------------------------------------------------------- reads

def _summed(table, start: date, end: date):
    """Flows summed over [start, end]; stocks are read from `end` separately."""
    in_range = table.day.between(start, end)
    return [func.coalesce(func.sum(getattr(table, c)), 0).label(c) for c in FLOWS], in_range


def get_range(session: Session, area_id: int, start: date, end: date,
              category_id: int | None = None) -> dict:
    """Counts over the local days [start, end] with rates recomputed from the sums, stocks
    as at the end of `end`, and handling-time percentiles from the close events themselves."""
    category = category_id or ALL_CATEGORIES
    columns, in_range = _summed(DailyMetric, start, end)
    mine = (DailyMetric.area_id == area_id) & (DailyMetric.category_id == category)
    sums = session.execute(select(*columns).where(mine, in_range)).one()._asdict()
    last = session.execute(select(*(getattr(DailyMetric, c) for c in STOCKS))
                           .where(mine, DailyMetric.day == end)).first()
    counts = {**sums, **dict(zip(STOCKS, last or (0, 0)))}
    area = session.get(Area, area_id)
    if area is None:
        raise Invalid("area_id", f"no area with id {area_id}")
    seconds = list_handling_seconds(session, area, start, end, category_id)
    return {"area_id": area_id, "category_id": category_id, "start": start, "end": end,
            **counts, **get_rates(counts), **get_percentiles(seconds)}


def list_handling_seconds(session: Session, area: Area, start: date, end: date,
                          category_id: int | None = None) -> np.ndarray:
    """Report-to-close seconds of every close event in the range, in `area`."""
    column = {AreaLevel.CITY: Incident.city_id, AreaLevel.TOWN: Incident.town_id,
              AreaLevel.VILLAGE: Incident.village_id}[area.level]
    query = (select(Incident.reported_at, IncidentEvent.at)
             .join(Incident, Incident.id == IncidentEvent.incident_id)
             .where(IncidentEvent.action == "close", column == area.id,
                    IncidentEvent.at >= get_day_window(start)[0],
                    IncidentEvent.at < get_day_window(end)[1],
                    Incident.state.not_in(EXCLUDED_STATES)))
    if category_id:
        query = query.where(Incident.category_id == category_id)
    rows = session.execute(query).all()
    return np.array([(closed - reported).total_seconds() for reported, closed in rows])


def list_rankings(session: Session, start: date, end: date, level: str = "town",
                  by: str = "area", indicator: str = "on_time_closure_rate",
                  min_cases: int = MIN_CASES) -> list[dict]:
    """Areas (or departments) of one level ranked on an indicator over [start, end].

    `cases` is the indicator's denominator; below `min_cases` an entry is not ranked and
    has no value, only the status "too few cases". Ties share a rank (1, 1, 3).
    """
    rate = RATES.get(indicator)
    if rate is None:
        raise Invalid("indicator", f"{indicator!r} is not one of: {', '.join(RATES)}")
    if by not in ("area", "department"):
        raise Invalid("by", "rank by 'area' or 'department'")
    level = AreaLevel(level)
    entries = [_entry(rate, ident, name, counts, min_cases)
               for ident, name, counts in _list_totals(session, start, end, level, by)]
    ranked = sorted((e for e in entries if e["status"] == "ranked"),
                    key=lambda e: (-e["value"] if rate.higher_is_better else e["value"], e["name"]))
    for position, entry in enumerate(ranked):
        same = position and ranked[position - 1]["value"] == entry["value"]
        entry["rank"] = ranked[position - 1]["rank"] if same else position + 1
    too_few = sorted((e for e in entries if e["status"] != "ranked"), key=lambda e: e["name"])
    return ranked + too_few


def _entry(rate: Rate, ident: int, name: str, counts: dict, min_cases: int) -> dict:
    cases = rate.cases(counts)
    enough = cases >= min_cases
    return {"rank": None, "id": ident, "name": name, "cases": cases,
            "value": rate.value(counts) if enough else None,
            "status": "ranked" if enough else TOO_FEW}


def _list_totals(session: Session, start: date, end: date, level: AreaLevel, by: str):
    """(id, name, counts) per area or department of `level` that has rows in the range."""
    if by == "area":
        table, key, names = DailyMetric, DailyMetric.area_id, Area
        scope = (DailyMetric.level == level) & (DailyMetric.category_id == ALL_CATEGORIES)
    else:
        table, key, names = DailyDepartmentMetric, DailyDepartmentMetric.department_id, Department
        scope = DailyDepartmentMetric.level == level
    columns, in_range = _summed(table, start, end)
    sums = {row[0]: row._asdict() for row in
            session.execute(select(key, *columns).where(scope, in_range).group_by(key))}
    stocks = {row[0]: row[1:] for row in session.execute(
        select(key, *(getattr(table, c) for c in STOCKS)).where(scope, table.day == end))}
    label = dict(session.execute(select(names.id, names.name_zh).where(names.id.in_(list(sums)))).all())
    for ident, counts in sums.items():
        counts.update(zip(STOCKS, stocks.get(ident, (0, 0))))
        yield ident, label.get(ident, str(ident)), counts
