"""The wall's slow-moving figures: computed once a minute for every area, kept in Redis.

A wall refreshes every few seconds; the figures it sets beside the live counts (today's
on-time and dispute rates, the same time last week, the category breakdown, the 24-hour
trend) change slowly and need SQL over days of events. So one job computes them for every
city, town and village at once (a few GROUP BYs over today's and last week's events, rolled
up in numpy as workers/metrics.py does) and writes one JSON string per area; the wall reads
it with a single GET. The definitions are docs/metrics.md's, through workers/metrics.py:

- today: flows in [local midnight, now); stocks (open, overdue) as of now.
- last_week: flows in [local midnight 7 days ago, now - 7 days); stocks as of now - 7 days.
- categories: reports per category in those two windows.
- trend: reports per UTC hour over the 24 hours ending with the current (partial) hour, and
  in the same hours 7 days earlier, the last one cut at now - 7 days like the current one.

Incidents now INVALID, DUPLICATE or NOT_OURS are left out everywhere. Grids get no figures.
"""
from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from models.area import Area
from models.enums import EXCLUDED_STATES, AreaLevel
from models.incident import Incident, IncidentEvent
from models.metrics import COUNTS, RATES, get_day_window, get_local_day
from models.types import utcnow
from workers import keys
from workers.metrics import (
    COLUMN, FINE, DayFigures, Sums, _event_flags, _set_stocks, get_open_at, list_overdue_spans,
    roll_up, unpack,
)

FLOWS = ("reported", "closed", "closed_on_time", "disputes_closed", "disputes_mediated")
WALL_RATES = ("on_time_closure_rate", "dispute_resolution_rate")
LEVELS = (AreaLevel.CITY, AreaLevel.TOWN, AreaLevel.VILLAGE)
WEEK = timedelta(days=7)
HOURS = 24
TTL = 15 * 60  # seconds: a wall whose job stopped shows nothing rather than stale figures


# ---------------------------------------------------------------- SQL (one pass for all areas)

def get_window_sums(session: Session, start: datetime, end: datetime) -> Sums:
    """The wall's flows in [start, end) per fine key (city, town, village, category)."""
    flags = _event_flags(start, end)
    fine = [flags.c.city_id, flags.c.town_id, flags.c.village_id, flags.c.category_id]
    rows = session.execute(
        select(*fine, *(func.sum(flags.c[name]) for name in FLOWS)).group_by(*fine)).all()
    matrix = np.zeros((len(rows), len(COUNTS)), dtype=np.int64)
    if rows:
        matrix[:, [COLUMN[name] for name in FLOWS]] = [row[4:] for row in rows]
    return Sums(4, [tuple(row[:4]) for row in rows], matrix)


def add_stocks(sums: Sums, open_stock: Counter, overdue: Counter) -> Sums:
    """Open and overdue at the window's end, in the stock columns (open_end, overdue_end)."""
    nobody = Sums(1, [], np.zeros((0, len(COUNTS)), dtype=np.int64))
    _set_stocks(DayFigures(sums, nobody), open_stock, (overdue, Counter()))
    return sums


def list_report_times(session: Session, windows: list[tuple[datetime, datetime]]) -> list:
    """(city, town, village, at) of every report event in the windows ([start, end) each)."""
    within = or_(*(and_(IncidentEvent.at >= start, IncidentEvent.at < end) for start, end in windows))
    return session.execute(
        select(*FINE[:3], IncidentEvent.at)
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(IncidentEvent.action == "report", within, Incident.state.not_in(EXCLUDED_STATES))
    ).all()


def list_wall_areas(session: Session) -> list[tuple[int, AreaLevel]]:
    return session.execute(select(Area.id, Area.level).where(Area.level.in_(LEVELS))
                           .order_by(Area.id)).all()


# ---------------------------------------------------------------- roll-up (numpy) and shaping

def list_area_counts(sums: Sums) -> tuple[dict[int, dict], dict[int, dict[int, int]]]:
    """Per area: counts over all categories ({column: n}), and reports per category."""
    totals, categories = {}, defaultdict(dict)
    packed, counts = roll_up(sums)
    wanted = [COLUMN[name] for name in (*FLOWS, "open_end", "overdue_end")]
    names = [COUNTS[column] for column in wanted]
    for key, row in zip(packed.tolist(), counts[:, wanted].tolist()):
        area, _, category = unpack(key)
        if category:
            categories[area][category] = row[0]  # FLOWS[0] is "reported"
        else:
            totals[area] = dict(zip(names, row))
    return totals, categories


def build_window(counts: dict | None) -> dict:
    """A window's figures: flows, stocks and the two rates (None with no cases)."""
    counts = counts or dict.fromkeys((*FLOWS, "open_end", "overdue_end"), 0)
    figures = {name: counts[name] for name in FLOWS}
    figures.update(open=counts["open_end"], overdue=counts["overdue_end"])
    figures.update({name: RATES[name].value(counts) for name in WALL_RATES})
    return figures


def build_categories(today: dict[int, int], last_week: dict[int, int]) -> list[dict]:
    """Categories with any report in either window, most reported today first."""
    rows = [{"category_id": c, "today": today.get(c, 0), "last_week": last_week.get(c, 0)}
            for c in set(today) | set(last_week)]
    rows = [row for row in rows if row["today"] or row["last_week"]]
    return sorted(rows, key=lambda r: (-r["today"], -r["last_week"], r["category_id"]))


def get_first_hour(now: datetime) -> datetime:
    """The start of the first of the 24 hourly buckets (the last one holds `now`)."""
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)


def count_trend(rows: list, first: datetime) -> dict[int, np.ndarray]:
    """Reports per area in 2 × 24 slots: this week's hours, then last week's."""
    if not rows:
        return {}
    ids = np.array([row[:3] for row in rows], dtype=np.int64)
    seconds = np.array([(row[3] - first).total_seconds() for row in rows])
    earlier = seconds < 0  # in last week's window
    slot = ((seconds + earlier * WEEK.total_seconds()) // 3600).astype(np.int64) + earlier * HOURS
    trend: dict[int, np.ndarray] = {}
    for column in range(3):
        present = ids[:, column] >= 0
        packed, n = np.unique(ids[present, column] * 2 * HOURS + slot[present], return_counts=True)
        for key, count in zip(packed.tolist(), n.tolist()):
            area, position = divmod(key, 2 * HOURS)
            trend.setdefault(area, np.zeros(2 * HOURS, dtype=np.int64))[position] += count
    return trend


# ---------------------------------------------------------------- the figures

def compute_wall_figures(session: Session, now: datetime) -> dict[int, dict]:
    """area_id -> the wall's figures at `now` (JSON-ready), for every city, town and village."""
    midnight = get_day_window(get_local_day(now))[0]
    spans = list_overdue_spans(session, now - WEEK, now)
    today = add_stocks(get_window_sums(session, midnight, now), get_open_at(session, now),
                       spans.count_at(now)[0])
    last = add_stocks(get_window_sums(session, midnight - WEEK, now - WEEK),
                      get_open_at(session, now - WEEK), spans.count_at(now - WEEK)[0])
    (today_totals, today_categories), (last_totals, last_categories) = (
        list_area_counts(today), list_area_counts(last))
    first = get_first_hour(now)
    trend = count_trend(list_report_times(session, [(first, now), (first - WEEK, now - WEEK)]), first)
    hours = [(first + timedelta(hours=n)).isoformat() for n in range(HOURS)]
    empty = np.zeros(2 * HOURS, dtype=np.int64)
    figures = {}
    for area_id, level in list_wall_areas(session):
        slots = trend.get(area_id, empty).tolist()
        figures[area_id] = {
            "area_id": area_id, "level": str(level), "at": now.isoformat(),
            "today": build_window(today_totals.get(area_id)),
            "last_week": build_window(last_totals.get(area_id)),
            "categories": build_categories(today_categories.get(area_id, {}),
                                           last_categories.get(area_id, {})),
            "trend": {"hours": hours, "this_week": slots[:HOURS], "last_week": slots[HOURS:]},
        }
    return figures


# ---------------------------------------------------------------- Redis

def write_wall_figures(redis, figures: dict[int, dict], *, pipeline=None) -> None:
    """One SET with a TTL per area, sent in one round trip (or queued on `pipeline`)."""
    pipe = pipeline if pipeline is not None else redis.pipeline(transaction=False)
    for area_id, area_figures in figures.items():
        pipe.set(keys.WALL_FIGURES.format(area_id=area_id),
                 json.dumps(area_figures, ensure_ascii=False, separators=(",", ":")), ex=TTL)
    if pipeline is None:
        pipe.execute()


def read_wall_figures(redis, area_id: int) -> dict | None:
    """The area's figures as last computed; None when none are kept (job not run lately)."""
    stored = redis.get(keys.WALL_FIGURES.format(area_id=area_id))
    return json.loads(stored) if stored is not None else None


# ---------------------------------------------------------------- job entry point

def refresh_wall_figures(session: Session, redis, now: datetime | None = None) -> dict:
    """Compute every area's figures and write them; returns a small summary."""
    now = now or utcnow()
    started = time.perf_counter()
    figures = compute_wall_figures(session, now)
    write_wall_figures(redis, figures)
    return {"areas": len(figures), "at": now.isoformat(),
            "seconds": round(time.perf_counter() - started, 3)}


def job_wall_figures() -> dict | None:
    """RQ job (every minute): None when the previous run is still going."""
    from workers.connections import get_redis, get_session_factory
    from workers.jobs import run_alone

    def work() -> dict:
        with get_session_factory()() as session:
            return refresh_wall_figures(session, get_redis())
    return run_alone("wall-figures", work)
