"""The wall's slow figures (workers/wall.py): today, the same time last week, categories and
the 24-hour trend, per area, computed in one pass and kept in Redis.

NOW is Monday 2 November 2026, 12:00 in Shanghai (T0 + 3 h; local midnight is T0 − 9 h).
Every expected number is counted by hand from the incidents each test makes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import redis as redis_lib
from sqlalchemy import func, select

from models import Area, Incident, IncidentEvent, lifecycle
from models.actor import Actor
from models.enums import EXCLUDED_STATES, AreaLevel
from models.metrics import DailyMetric, get_local_day
from seed.history import generate_history
from tests.conftest import REPO
from tests.factories import T0, make_incident, make_world
from workers import connections, keys, metrics, wall

NOW = T0 + timedelta(hours=3)
MIDNIGHT = T0 - timedelta(hours=9)
WEEK = timedelta(days=7)
OPS = Actor.system("wall-test")
DISPUTE = "09-01"  # category 9, 矛盾纠纷: the one category closed with a mediation outcome


# ---------------------------------------------------------------- helpers

@pytest.fixture
def world(session):
    return make_world(session)


def do(session, incident, action: str, at: datetime, **params):
    handler = lifecycle.HANDLERS[action]
    return handler(session, incident, OPS, expected_version=incident.version, now=at, **params)


def breach(session, incident, *, before: datetime) -> None:
    """Record the running deadline's breach a minute after it passed (it must pass first)."""
    at = incident.due_at + timedelta(minutes=1)
    assert at < before, f"deadline {incident.due_at} does not pass before {before}"
    assert lifecycle.breach(session, incident, OPS, expected_version=incident.version, now=at,
                            stage=incident.due_stage, deadline=incident.due_at)


def closed(session, world, at: datetime, *, grid="A1a", item="14-01", outcome=None, late=False):
    """Reported at `at`, self-handled and closed 2 h 10 min later (breached first if late)."""
    incident = make_incident(session, world, grid=grid, item=item, now=at)
    if late:
        breach(session, incident, before=at + timedelta(hours=2, minutes=5))
    do(session, incident, "self-handle", at + timedelta(hours=2, minutes=5), reason="就地处置")
    do(session, incident, "close", at + timedelta(hours=2, minutes=10), dispute_outcome=outcome)
    return incident


def figures_of(session, world, key: str, now: datetime = NOW) -> dict:
    session.commit()
    return wall.compute_wall_figures(session, now)[world.areas[key].id]


# ---------------------------------------------------------------- today

def test_it_counts_a_report_today_in_its_village_town_and_city_only(session, world):
    make_incident(session, world, now=T0)
    make_incident(session, world, now=MIDNIGHT - timedelta(minutes=1))  # yesterday
    session.commit()
    figures = wall.compute_wall_figures(session, NOW)
    reported = {key: figures[world.areas[key].id]["today"]["reported"]
                for key in ("A1", "A", "C", "B1", "B")}
    assert reported == {"A1": 1, "A": 1, "C": 1, "B1": 0, "B": 0}
    assert world.areas["A1a"].id not in figures  # grids get no figures
    assert figures[world.areas["A"].id]["today"]["open"] == 2


def test_it_reads_the_on_time_rate_from_recorded_breaches_and_overdue_work(session, world):
    closed(session, world, T0 - timedelta(hours=6))             # closed on time
    closed(session, world, T0 - timedelta(hours=6), late=True)  # closed after a breach
    today = figures_of(session, world, "A1")["today"]
    assert (today["closed"], today["closed_on_time"], today["overdue"]) == (2, 1, 0)
    assert today["on_time_closure_rate"] == 0.5
    still_late = make_incident(session, world, now=T0 - timedelta(hours=4))
    breach(session, still_late, before=NOW)                     # overdue, still open
    today = figures_of(session, world, "C")["today"]
    assert (today["overdue"], today["open"]) == (1, 1)
    assert today["on_time_closure_rate"] == pytest.approx(1 / 3)  # 1 ÷ (2 closed + 1 overdue)


def test_it_reads_the_dispute_rate_from_mediation_outcomes(session, world):
    closed(session, world, T0 - timedelta(hours=6), item=DISPUTE, outcome="mediated")
    closed(session, world, T0 - timedelta(hours=6), item=DISPUTE, outcome="failed")
    closed(session, world, T0 - timedelta(hours=6), item=DISPUTE, outcome="mediated")
    closed(session, world, T0 - timedelta(hours=6))  # not a dispute: not in the rate
    today = figures_of(session, world, "A")["today"]
    assert (today["disputes_closed"], today["disputes_mediated"], today["closed"]) == (3, 2, 4)
    assert today["dispute_resolution_rate"] == pytest.approx(2 / 3)


def test_it_leaves_out_invalid_duplicate_and_not_ours(session, world):
    kept = make_incident(session, world, now=T0)
    for action, params in (("invalidate", {}), ("duplicate", {"duplicate_of_id": kept.id}),
                           ("not-ours", {})):
        incident = make_incident(session, world, now=T0)
        do(session, incident, action, T0 + timedelta(minutes=5), reason="测试", **params)
    figures = figures_of(session, world, "C")
    assert (figures["today"]["reported"], figures["today"]["open"]) == (1, 1)
    assert figures["categories"] == [{"category_id": kept.category_id, "today": 1, "last_week": 0}]
    assert sum(figures["trend"]["this_week"]) == 1


def test_it_has_zeros_and_no_rates_for_an_area_with_nothing(session, world):
    figures = figures_of(session, world, "B1")
    for window in ("today", "last_week"):
        assert figures[window] == {
            "reported": 0, "closed": 0, "closed_on_time": 0, "disputes_closed": 0,
            "disputes_mediated": 0, "open": 0, "overdue": 0,
            "on_time_closure_rate": None, "dispute_resolution_rate": None}
    assert figures["categories"] == []
    assert figures["trend"]["this_week"] == figures["trend"]["last_week"] == [0] * 24
    assert (figures["area_id"], figures["level"], figures["at"]) == (
        world.areas["B1"].id, "village", NOW.isoformat())


def test_it_computes_nothing_on_an_empty_database(session):
    assert wall.compute_wall_figures(session, NOW) == {}


# ---------------------------------------------------------------- last week

def test_it_compares_with_exactly_seven_days_earlier_up_to_the_same_time(session, world):
    for at in (MIDNIGHT - WEEK - timedelta(minutes=1),  # the day before: no
               MIDNIGHT - WEEK + timedelta(minutes=1),  # yes
               NOW - WEEK - timedelta(minutes=1),       # yes
               NOW - WEEK + timedelta(hours=1),         # later in the day than now: no
               MIDNIGHT + timedelta(minutes=1)):        # today, not last week
        make_incident(session, world, now=at)
    closed(session, world, NOW - WEEK - timedelta(hours=3))               # closed before
    closed(session, world, NOW - WEEK - timedelta(hours=1), item=DISPUTE,
           outcome="mediated")                                            # closed after
    last_week = figures_of(session, world, "C")["last_week"]
    assert (last_week["reported"], last_week["closed"], last_week["closed_on_time"]) == (4, 1, 1)
    assert (last_week["disputes_closed"], last_week["dispute_resolution_rate"]) == (0, None)


def test_it_reads_open_and_overdue_as_of_a_week_ago(session, world):
    then = NOW - WEEK
    late = make_incident(session, world, now=then - timedelta(hours=3))
    breach(session, late, before=then)                                         # overdue then
    do(session, late, "self-handle", then + timedelta(minutes=30), reason="就地处置")
    do(session, late, "close", then + timedelta(minutes=40))                   # closed since
    make_incident(session, world, now=then - timedelta(hours=1))               # open, in time
    closed(session, world, then - timedelta(hours=5))                          # closed by then
    make_incident(session, world, now=then + timedelta(hours=1))               # not yet reported
    figures = figures_of(session, world, "A1")
    assert (figures["last_week"]["open"], figures["last_week"]["overdue"]) == (2, 1)
    assert (figures["today"]["open"], figures["today"]["overdue"]) == (2, 0)
    assert figures["last_week"]["on_time_closure_rate"] == pytest.approx(1 / 2)  # 1 ÷ (1 + 1)


# ---------------------------------------------------------------- categories and trend

def test_it_breaks_reports_down_by_category_against_last_week(session, world):
    make_incident(session, world, now=T0)
    make_incident(session, world, now=T0 + timedelta(hours=1))
    dispute = make_incident(session, world, item=DISPUTE, now=T0 + timedelta(hours=2))
    make_incident(session, world, item=DISPUTE, grid="B1a", now=T0 - WEEK)
    make_incident(session, world, item="01-01", now=T0 - WEEK + timedelta(hours=4))  # after now − 7 d
    common = world.items["14-01"].category_id
    city = figures_of(session, world, "C")["categories"]
    assert city == [{"category_id": common, "today": 2, "last_week": 0},
                    {"category_id": dispute.category_id, "today": 1, "last_week": 1}]
    assert figures_of(session, world, "B")["categories"] == [
        {"category_id": dispute.category_id, "today": 0, "last_week": 1}]


def test_it_puts_reports_in_hourly_buckets_beside_the_same_hours_last_week(session, world):
    now = T0 + timedelta(hours=2, minutes=30)  # the last bucket is [T0 + 2 h, now)
    first = T0 - timedelta(hours=21)
    for at in (first - timedelta(minutes=1), first, T0 + timedelta(minutes=10),
               T0 + timedelta(hours=2, minutes=5), T0 + timedelta(hours=2, minutes=6),
               first - WEEK, T0 + timedelta(minutes=59) - WEEK,
               T0 + timedelta(hours=2, minutes=20) - WEEK,   # before now − 7 d: counted
               T0 + timedelta(hours=2, minutes=40) - WEEK):  # after now − 7 d: not counted
        make_incident(session, world, now=at)
    trend = figures_of(session, world, "A1", now=now)["trend"]
    assert len(trend["hours"]) == len(trend["this_week"]) == len(trend["last_week"]) == 24
    assert (trend["hours"][0], trend["hours"][-1]) == (
        first.isoformat(), (T0 + timedelta(hours=2)).isoformat())
    expected_this, expected_last = [0] * 24, [0] * 24
    expected_this[0], expected_this[21], expected_this[23] = 1, 1, 2
    expected_last[0], expected_last[21], expected_last[23] = 1, 1, 1
    assert (trend["this_week"], trend["last_week"]) == (expected_this, expected_last)


# ---------------------------------------------------------------- Redis

def test_it_writes_every_area_and_reads_one_back(session, world, redis):
    closed(session, world, T0 - timedelta(hours=6), item=DISPUTE, outcome="mediated")
    session.commit()
    figures = wall.compute_wall_figures(session, NOW)
    wall.write_wall_figures(redis, figures)
    assert sorted(redis.keys("grid:wall:*")) == sorted(
        keys.WALL_FIGURES.format(area_id=area) for area in figures)
    city = world.areas["C"].id
    assert wall.read_wall_figures(redis, city) == figures[city]
    assert 0 < redis.ttl(keys.WALL_FIGURES.format(area_id=city)) <= wall.TTL
    assert wall.read_wall_figures(redis, world.areas["A1a"].id) is None
    json.dumps(figures)  # JSON-ready as returned, not only once written


@pytest.fixture
def job_env(monkeypatch, city_engine, redis_server):
    url = city_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    yield {"DATABASE_URL": url, "REDIS_URL": redis_server.url}
    for key in [k for k in connections._cache if url in k[1] or redis_server.url in k[1]]:
        value = connections._cache.pop(key)
        if isinstance(value, redis_lib.Redis):
            value.close()
        else:
            value.kw["bind"].dispose()


def test_it_runs_as_a_job_and_skips_a_tick_while_the_last_one_runs(city_session, job_env, redis):
    summary = wall.job_wall_figures()
    areas = city_session.scalar(select(func.count()).select_from(Area).where(
        Area.level.in_(wall.LEVELS)))
    assert summary["areas"] == areas == 1 + 35 + 593
    city = city_session.scalar(select(Area.id).where(Area.level == AreaLevel.CITY))
    assert wall.read_wall_figures(redis, city)["today"]["reported"] == 0
    with redis.lock(keys.JOB_LOCK.format(name="wall-figures"), timeout=30):
        assert wall.job_wall_figures() is None


def test_it_computes_once_from_the_command_line(city_session, job_env, redis):
    result = subprocess.run([sys.executable, "-m", "workers", "wall"], cwd=REPO, timeout=120,
                            env={**os.environ, **job_env}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["areas"] == 629
    assert len(redis.keys("grid:wall:*")) == 629


# ---------------------------------------------------------------- generated history

HISTORY_END = datetime(2026, 11, 1, 15, 59, 59, tzinfo=timezone.utc)  # 23:59:59 local


def test_it_agrees_with_the_daily_metrics_on_generated_history(city_session):
    generate_history(city_session, days=8, per_day=300, seed=3, end=HISTORY_END, progress=False)
    day = get_local_day(HISTORY_END)
    metrics.compute_day(city_session, day)
    city_session.commit()
    figures = wall.compute_wall_figures(city_session, HISTORY_END)
    rows = {r.area_id: r for r in city_session.scalars(
        select(DailyMetric).where(DailyMetric.day == day, DailyMetric.category_id == 0))}
    assert len(rows) > 100, "the generated history left too few areas with figures"
    for area_id, area in figures.items():
        row, today = rows.get(area_id), area["today"]
        expected = {name: getattr(row, name) if row else 0 for name in wall.FLOWS}
        expected.update(open=row.open_end if row else 0, overdue=row.overdue_end if row else 0,
                        on_time_closure_rate=row and row.on_time_closure_rate,
                        dispute_resolution_rate=row and row.dispute_resolution_rate)
        assert today == pytest.approx(expected), area_id

    # Last week at HISTORY_END is today as it stood exactly a week earlier.
    week_ago = wall.compute_wall_figures(city_session, HISTORY_END - WEEK)
    assert {a: f["last_week"] for a, f in figures.items()} == {
        a: f["today"] for a, f in week_ago.items()}
    city = next(f for f in figures.values() if f["level"] == "city")
    first = datetime.fromisoformat(city["trend"]["hours"][0])
    reports = select(func.count()).select_from(IncidentEvent).join(Incident).where(
        IncidentEvent.action == "report", Incident.state.not_in(EXCLUDED_STATES))
    assert sum(city["trend"]["this_week"]) == city_session.scalar(
        reports.where(IncidentEvent.at >= first, IncidentEvent.at < HISTORY_END))
    assert sum(city["trend"]["last_week"]) == city_session.scalar(
        reports.where(IncidentEvent.at >= first - WEEK, IncidentEvent.at < HISTORY_END - WEEK))
    assert sum(c["today"] for c in city["categories"]) == city["today"]["reported"]
