"""Computing the daily metrics (models/metrics.py holds the tables and the formulas).

A day's flows come from one set-based query: a GROUP BY (city, town, village, category,
department) of per-event flags over that day's events, split by area and by department
and rolled up to town, city and all-categories in numpy. Two figures are stocks at the
end of the day: open incidents, derived backwards from the current state (open now,
minus what was reported since, plus what was closed since, minus what was reopened
since), and overdue incidents, from the breach records running at that moment. A
backfill walks its days from the newest back, so each day costs only its own events.
docs/metrics.md has the definitions.
"""
from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import and_, case, delete, exists, func, literal_column, or_, select
from sqlalchemy.orm import Session

from models.enums import CLOSED_STATES, EXCLUDED_STATES, AreaLevel, State
from models.incident import Breach, Incident, IncidentEvent
from models.metrics import (
    COUNTS, FLOWS, PERCENTILES, RATES, DailyDepartmentMetric, DailyMetric,
    get_day_window, get_local_day,
)
from models.org import Department
from models.types import utcnow
from workers.connections import get_session_factory

E, I, B = IncidentEvent, Incident, Breach
# The finest grouping; a missing town or village is -1 (inline, so GROUP BY matches on PostgreSQL).
FINE = (I.city_id, func.coalesce(I.town_id, literal_column("-1")).label("town_id"),
        func.coalesce(I.village_id, literal_column("-1")).label("village_id"), I.category_id)
OPEN_STATES = frozenset(State) - CLOSED_STATES
# Which stage an action completes (for the per-stage on-time rates).
STAGE_OF = {"accept": "accept", "self-handle": "accept", "dispatch": "dispatch",
            "resolve": "handle", "close": "check", "rework": "check"}
COLUMN = {name: n for n, name in enumerate(COUNTS)}
COMMIT_EVERY = 1.0  # seconds, in a backfill
SQL_FLOWS = FLOWS[:-1]  # handling_seconds is summed in Python from the close events
assert FLOWS[-1] == "handling_seconds"


# ---------------------------------------------------------------- per-event flags (SQL)

def _is(*actions: str):
    return E.action.in_(actions)


def _payload(key: str):
    return E.payload[key].as_string()


def _late():
    """A breach of the stage this event completes was recorded and still running."""
    return exists().where(
        B.incident_id == E.incident_id, B.stage == case(STAGE_OF, value=E.action),
        B.detected_at <= E.at, or_(B.completed_at.is_(None), B.completed_at >= E.at))


def _never_breached():
    return ~exists().where(B.incident_id == E.incident_id, B.detected_at <= E.at)


def _flags() -> dict:
    stage_done = {s: _is(*(a for a, st in STAGE_OF.items() if st == s))
                  for s in ("accept", "dispatch", "handle", "check")}
    flags = {
        "reported": _is("report"), "accepted": _is("accept", "self-handle"),
        "self_handled": _is("self-handle"), "dispatched": _is("dispatch"),
        "returned": _is("return"), "resolved": _is("resolve"), "closed": _is("close"),
        "closed_on_time": and_(_is("close"), _never_breached()),
        "reopened": _is("reopen"), "reworked": _is("rework"),
        "checked": or_(_is("rework"), and_(_is("close"), E.from_state == State.RESOLVED)),
        "postponed": and_(_is("hold"), _payload("new_deadline").is_not(None)),
        "escalated": or_(_is("escalate"), and_(_is("breach"), _payload("to_level").is_not(None))),
        "reassigned": _is("reassign"), "breached": _is("breach"),
        "disputes_closed": and_(_is("close"), _payload("dispute_outcome").is_not(None)),
        "disputes_mediated": and_(_is("close"), _payload("dispute_outcome") == "mediated"),
        "feedback": and_(_is("close", "rate"), _payload("satisfaction").is_not(None)),
        "satisfied": and_(_is("close", "rate"), _payload("satisfaction") == "satisfied"),
    }
    for stage, done in stage_done.items():
        flags[f"{stage}_done"] = done
        flags[f"{stage}_on_time"] = and_(done, ~_late())
    return flags


def _department_of_event():
    """Dispatches and returns belong to the department named in the event; everything
    else to the incident's department."""
    named = E.payload["department_id"].as_integer()
    return case((_is("dispatch", "return"), named), else_=I.department_id)


def _event_flags(start: datetime, end: datetime):
    flags = _flags()
    columns = [case((flags[name], 1), else_=0).label(name) for name in SQL_FLOWS]
    return (select(*FINE, _department_of_event().label("department"), *columns)
            .join(I, I.id == E.incident_id)
            .where(E.at >= start, E.at < end, I.state.not_in(EXCLUDED_STATES))
            .subquery())


class Sums:
    """Count vectors (COUNTS order) by key, as one matrix that grows a row per new key."""

    def __init__(self, width: int, keys: list[tuple], matrix: np.ndarray):
        self.width = width  # how many ids make a key
        self.index = {key: n for n, key in enumerate(keys)}
        self.matrix = matrix

    @classmethod
    def group(cls, width: int, keys: list[tuple], flows: np.ndarray) -> Sums:
        index = {key: n for n, key in enumerate(dict.fromkeys(keys))}
        matrix = np.zeros((len(index), len(COUNTS)), dtype=np.int64)
        if keys:
            np.add.at(matrix[:, :flows.shape[1]], [index[k] for k in keys], flows)
        return cls(width, list(index), matrix)

    def extend(self, keys) -> None:
        new = [key for key in dict.fromkeys(keys) if key not in self.index]
        for key in new:
            self.index[key] = len(self.index)
        padding = np.zeros((len(new), len(COUNTS)), dtype=np.int64)
        self.matrix = np.vstack([self.matrix, padding])

    def row(self, key: tuple) -> np.ndarray:
        """A writable view of the key's counts (the key must exist: see `extend`)."""
        return self.matrix[self.index[key]]

    def keys(self) -> np.ndarray:
        return np.array(list(self.index), dtype=np.int64).reshape(len(self.index), self.width)


# ---------------------------------------------------------------- one day's flows

@dataclass
class DayFigures:
    """A day's counts per fine key (city, town, village, category; -1 for no area) and
    per department, and the report-to-close seconds of its close events."""

    areas: Sums
    departments: Sums
    closes: list[tuple] = field(default_factory=list)  # (*fine key, department, seconds)


def get_day_figures(session: Session, day: date) -> DayFigures:
    """The day's flows: one GROUP BY over its events, split by area and by department."""
    start, end = get_day_window(day)
    flags = _event_flags(start, end)
    keys = [flags.c.city_id, flags.c.town_id, flags.c.village_id, flags.c.category_id,
            flags.c.department]
    sums = [func.sum(flags.c[name]) for name in SQL_FLOWS]
    rows = session.execute(select(*keys, *sums).group_by(*keys)).all()
    flows = np.array([row[5:] for row in rows], dtype=np.int64).reshape(len(rows), len(SQL_FLOWS))
    staffed = [n for n, row in enumerate(rows) if row[4] is not None]
    figures = DayFigures(Sums.group(4, [tuple(row[:4]) for row in rows], flows),
                         Sums.group(1, [(rows[n][4],) for n in staffed], flows[staffed]))
    _add_closes(session, figures, start, end)
    return figures


def _add_closes(session: Session, figures: DayFigures, start: datetime, end: datetime) -> None:
    """Report-to-close time of every close event, summed into handling_seconds."""
    rows = session.execute(
        select(*FINE, I.department_id, I.reported_at, E.at)
        .join(I, I.id == E.incident_id)
        .where(E.at >= start, E.at < end, E.action == "close", I.state.not_in(EXCLUDED_STATES)))
    column = COLUMN["handling_seconds"]
    for *fine, department, reported, closed in rows:
        seconds = (closed - reported).total_seconds()
        figures.closes.append((*fine, department, seconds))
        figures.areas.row(tuple(fine))[column] += round(seconds)
        if (department,) in figures.departments.index:
            figures.departments.row((department,))[column] += round(seconds)


# ---------------------------------------------------------------- stocks

def get_open_at(session: Session, moment: datetime) -> Counter:
    """Open incidents per fine key at `moment`: open now, minus those reported since,
    plus those closed since, minus those reopened since."""
    stock = Counter({tuple(r[:4]): r[4] for r in session.execute(
        select(*FINE, func.count()).where(I.state.in_(OPEN_STATES)).group_by(*FINE))})
    since = session.execute(
        select(*FINE, *(func.sum(case((E.action == a, 1), else_=0)) for a in ("report", "close", "reopen")))
        .join(I, I.id == E.incident_id)
        .where(E.at >= moment, E.action.in_(("report", "close", "reopen")),
               I.state.not_in(EXCLUDED_STATES))
        .group_by(*FINE))
    for *fine, reported, closed, reopened in since:
        stock[tuple(fine)] += closed - reported - reopened
    return stock


def _step_back(stock: Counter, figures: DayFigures) -> Counter:
    """The stock at the end of the day before `figures`' day."""
    earlier = Counter(stock)
    flows = figures.areas.matrix
    change = flows[:, COLUMN["closed"]] - flows[:, COLUMN["reported"]] - flows[:, COLUMN["reopened"]]
    for fine, n in figures.areas.index.items():
        earlier[fine] += int(change[n])
    return Counter({fine: value for fine, value in earlier.items() if value})


@dataclass
class OverdueSpans:
    """When each breach made its incident overdue: from detection until its stage was
    completed or a postponement was approved (epoch seconds; end inf = still running)."""

    incident: np.ndarray
    start: np.ndarray
    end: np.ndarray
    owner: dict[int, tuple[tuple, int | None]]  # incident -> (fine key, department)

    def count_at(self, moment: datetime) -> tuple[Counter, Counter]:
        t = moment.timestamp()
        running = np.unique(self.incident[(self.start < t) & (self.end >= t)])
        owners = [self.owner[int(i)] for i in running]
        return (Counter(fine for fine, _ in owners),
                Counter(dept for _, dept in owners if dept is not None))


def list_overdue_spans(session: Session, start: datetime, end: datetime) -> OverdueSpans:
    """Breaches that could be running at some moment in [start, end]."""
    overlapping = and_(B.detected_at < end, or_(B.completed_at.is_(None), B.completed_at >= start))
    rows = session.execute(
        select(B.incident_id, B.detected_at, B.completed_at, *FINE, I.department_id)
        .join(I, I.id == B.incident_id)
        .where(overlapping, I.state.not_in(EXCLUDED_STATES))).all()
    postponed = defaultdict(list)
    for incident, at in session.execute(
            select(E.incident_id, E.at).distinct().join(B, B.incident_id == E.incident_id)
            .where(overlapping, E.action == "hold", E.at >= B.detected_at,
                   _payload("new_deadline").is_not(None)).order_by(E.incident_id, E.at)):
        postponed[incident].append(at.timestamp())
    ends = [_span_end(postponed.get(r[0], ()), r[1].timestamp(), r[2]) for r in rows]
    return OverdueSpans(
        incident=np.array([r[0] for r in rows], dtype=np.int64),
        start=np.array([r[1].timestamp() for r in rows]), end=np.array(ends),
        owner={r[0]: (tuple(r[3:7]), r[7]) for r in rows})


def _span_end(postponements, detected: float, completed: datetime | None) -> float:
    end = completed.timestamp() if completed else float("inf")
    later = [p for p in postponements if p >= detected]
    return min([end, *later[:1]])


# ---------------------------------------------------------------- roll-up and rows

# A rolled-up row's key packed in one integer: (area × 4 + level code) × SPAN + category.
SPAN = 1 << 20
LEVEL_CODES = (AreaLevel.VILLAGE, AreaLevel.TOWN, AreaLevel.CITY)
_LEVEL_COLUMNS = (2, 1, 0)  # where each level's area id sits in a fine key


def _targets(fine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each fine key (n × 4) counts in 6 rows: its village, town and city, each for its
    category and for all categories. Returns (packed row key, fine key index) pairs."""
    packed, source = [], []
    everything = np.zeros(len(fine), dtype=np.int64)
    for code, column in enumerate(_LEVEL_COLUMNS):
        present = np.flatnonzero(fine[:, column] >= 0)
        for category in (fine[:, 3], everything):
            packed.append((fine[present, column] * 4 + code) * SPAN + category[present])
            source.append(present)
    return np.concatenate(packed), np.concatenate(source)


def unpack(packed: int) -> tuple[int, AreaLevel, int]:
    rest, category = divmod(int(packed), SPAN)
    area, code = divmod(rest, 4)
    return area, LEVEL_CODES[code], category


def roll_up(areas: Sums) -> tuple[np.ndarray, np.ndarray]:
    """(packed keys, summed counts) of every (area, level, category) row."""
    packed, source = _targets(areas.keys())
    keys, inverse = np.unique(packed, return_inverse=True)
    sums = np.zeros((len(keys), len(COUNTS)), dtype=np.int64)
    np.add.at(sums, inverse, areas.matrix[source])
    return keys, sums


def group_percentiles(groups: np.ndarray, seconds: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Median and p90 (linear interpolation, as numpy.percentile) of `seconds` per group,
    as a len(keys) × 2 array aligned with `keys` (NaN where a key has none)."""
    result = np.full((len(keys), 2), np.nan)
    if len(groups) == 0:
        return result
    order = np.lexsort((seconds, groups))
    groups, seconds = groups[order], seconds[order]
    unique, first, count = np.unique(groups, return_index=True, return_counts=True)
    rows = np.searchsorted(keys, unique)
    for column, q in enumerate((0.5, 0.9)):
        position = first + q * (count - 1)
        low, high = np.floor(position).astype(int), np.ceil(position).astype(int)
        result[rows, column] = seconds[low] + (seconds[high] - seconds[low]) * (position - low)
    return result


def _rate_matrix(counts: np.ndarray) -> np.ndarray:
    """Every rate of every row (models.metrics.RATES); NaN where there are no cases."""
    columns = []
    for rate in RATES.values():
        numerator = counts[:, [COLUMN[c] for c in rate.numerator]].sum(axis=1)
        cases = counts[:, [COLUMN[c] for c in rate.denominator]].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(cases > 0, numerator / np.maximum(cases, 1), np.nan)
        columns.append(1 - share if rate.complement else share)
    return np.column_stack(columns)


def build_values(counts: np.ndarray, percentiles: np.ndarray) -> list[list]:
    """Value rows in VALUE_COLUMNS order: counts, rates, percentiles (None for NaN)."""
    derived = np.hstack([_rate_matrix(counts), percentiles])
    missing = np.isnan(derived)
    derived = derived.astype(object)
    derived[missing] = None
    return np.hstack([counts.astype(object), derived]).tolist()


VALUE_COLUMNS = COUNTS + tuple(RATES) + PERCENTILES


def _area_rows(day: date, figures: DayFigures, now: datetime) -> list[tuple]:
    keys, counts = roll_up(figures.areas)
    keep = counts.any(axis=1)
    keys, counts = keys[keep], counts[keep]
    closes = np.array(figures.closes, dtype=float).reshape(len(figures.closes), 6)
    packed, source = _targets(closes[:, :4].astype(np.int64))
    percentiles = group_percentiles(packed, closes[source, 5], keys)
    return [(day, *unpack(key), now, *values)
            for key, values in zip(keys.tolist(), build_values(counts, percentiles))]


def _department_rows(day: date, figures: DayFigures, levels: dict, now: datetime) -> list[tuple]:
    departments = figures.departments
    keys = departments.keys()[:, 0]
    order = np.argsort(keys)
    keys, counts = keys[order], departments.matrix[order]
    keep = counts.any(axis=1)
    keys, counts = keys[keep], counts[keep]
    closes = [(c[4], c[5]) for c in figures.closes if c[4] is not None]
    closes = np.array(closes, dtype=float).reshape(len(closes), 2)
    known = np.isin(closes[:, 0], keys)
    percentiles = group_percentiles(closes[known, 0].astype(np.int64), closes[known, 1], keys)
    return [(day, dept, levels[dept], now, *values)
            for dept, values in zip(keys.tolist(), build_values(counts, percentiles))]


AREA_COLUMNS = ("day", "area_id", "level", "category_id", "computed_at") + VALUE_COLUMNS
DEPARTMENT_COLUMNS = ("day", "department_id", "level", "computed_at") + VALUE_COLUMNS


def insert_rows(session: Session, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """A plain executemany. Values still go through each column type's bind processor
    (memoised: the typed columns — day, level, computed_at — take a handful of values),
    but no parameter dict is built per row, which would dominate a 90-day backfill."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    processors = {n: _memoised(table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                  for n, name in enumerate(columns)}
    typed = [(n, p) for n, p in processors.items() if p is not None]
    if typed:
        rows = [_process(row, typed) for row in rows]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
                 f"VALUES ({', '.join([mark] * len(columns))})")
    connection.exec_driver_sql(statement, rows)


def _memoised(processor):
    if processor is None:
        return None
    done = {}

    def process(value):
        if value not in done:
            done[value] = processor(value)
        return done[value]
    return process


def _process(row: tuple, typed) -> tuple:
    row = list(row)
    for n, processor in typed:
        row[n] = processor(row[n])
    return tuple(row)


# ---------------------------------------------------------------- writing days

def _set_stocks(figures: DayFigures, open_stock: Counter, overdue: tuple[Counter, Counter]) -> None:
    areas, departments = figures.areas, figures.departments
    areas.extend([*open_stock, *overdue[0]])
    departments.extend([(dept,) for dept in overdue[1]])
    for fine, value in open_stock.items():
        areas.row(fine)[COLUMN["open_end"]] = value
    for fine, value in overdue[0].items():
        areas.row(fine)[COLUMN["overdue_end"]] = value
    for dept, value in overdue[1].items():
        departments.row((dept,))[COLUMN["overdue_end"]] = value


def _write_day(session: Session, day: date, figures: DayFigures, levels) -> int:
    """Replace the day's rows (the caller commits, so the swap is one transaction)."""
    now = utcnow()
    areas = _area_rows(day, figures, now)
    departments = _department_rows(day, figures, levels, now)
    session.execute(delete(DailyMetric).where(DailyMetric.day == day))
    session.execute(delete(DailyDepartmentMetric).where(DailyDepartmentMetric.day == day))
    insert_rows(session, DailyMetric.__table__, AREA_COLUMNS, areas)
    insert_rows(session, DailyDepartmentMetric.__table__, DEPARTMENT_COLUMNS, departments)
    return len(areas) + len(departments)


def _department_levels(session: Session) -> dict[int, AreaLevel]:
    return dict(session.execute(select(Department.id, Department.level)).all())


def _walk_back(session: Session, days: list[date]):
    """Yield (day, figures with stocks) from the newest day back to the oldest."""
    first, last = get_day_window(days[0])[0], get_day_window(days[-1])[1]
    spans = list_overdue_spans(session, first, last)
    stock = get_open_at(session, last)
    for day in reversed(days):
        figures = get_day_figures(session, day)
        _set_stocks(figures, stock, spans.count_at(get_day_window(day)[1]))
        yield day, figures
        stock = _step_back(stock, figures)


def compute_day(session: Session, day: date) -> int:
    """Compute one local day and replace its rows; returns rows written. Caller commits."""
    levels = _department_levels(session)
    return sum(_write_day(session, d, f, levels) for d, f in _walk_back(session, [day]))


def refresh_today(session: Session, now: datetime | None = None) -> int:
    """Today's figures so far (stocks as of now). Caller commits."""
    return compute_day(session, get_local_day(now or utcnow()))


def backfill(session: Session, start: date, end: date) -> int:
    """Compute every local day in [start, end], newest first. It commits about once a
    second (a day's rows are always swapped within one transaction), so a long backfill
    never holds SQLite's write lock for long and a crash loses at most a second's work."""
    if end < start:
        raise ValueError("backfill needs start <= end")
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    levels = _department_levels(session)
    written, committed = 0, time.monotonic()
    for day, figures in _walk_back(session, days):
        written += _write_day(session, day, figures, levels)
        if time.monotonic() - committed >= COMMIT_EVERY:
            session.commit()
            committed = time.monotonic()
    session.commit()
    return written


# ---------------------------------------------------------------- entry points

def job_refresh_today() -> int:
    """RQ job: recompute today's figures (every few minutes)."""
    with get_session_factory()() as session:
        written = refresh_today(session)
        session.commit()
    return written


def job_close_yesterday() -> int:
    """RQ job: compute yesterday once it is over (shortly after local midnight)."""
    with get_session_factory()() as session:
        written = compute_day(session, get_local_day(utcnow()) - timedelta(days=1))
        session.commit()
    return written


def main_backfill(days: int) -> int:
    """`python -m workers metrics backfill --days N`: the N whole days before today."""
    if days < 1:
        raise ValueError("--days must be at least 1")
    end = get_local_day(utcnow()) - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    started = time.perf_counter()
    with get_session_factory()() as session:
        written = backfill(session, start, end)
    print(json.dumps({"start": start.isoformat(), "end": end.isoformat(), "rows": written,
                      "seconds": round(time.perf_counter() - started, 1)}), flush=True)
    return 0
