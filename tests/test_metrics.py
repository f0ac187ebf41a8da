"""Daily metrics: hand-walked scenarios with known figures, rollups, ranges, rankings,
idempotent recomputes, the job entry points, and consistency on generated history.

Day D is Monday 2 November 2026 in Shanghai: [T0 − 9 h, T0 + 15 h) in UTC (T0 is 09:00
local). Every expected number below is counted by hand from the scenario that builds it.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
import redis as redis_lib
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from models import Incident, IncidentEvent
from models import lifecycle
from models.actor import Actor
from models.enums import EXCLUDED_STATES, Action, AreaLevel, State
from models.metrics import (
    COUNTS, RATES, TOO_FEW, DailyDepartmentMetric, DailyMetric, get_day_window,
    get_local_day, get_range, list_rankings,
)
from models.types import utcnow
from seed.history import generate_history
from tests.factories import T0, make_incident, make_world
from workers import connections
from workers import metrics

D = date(2026, 11, 2)
D1 = D + timedelta(days=1)
OPS = Actor.system("metrics-test")  # acts everywhere; who acts does not change a figure
REASONS = {a: {"reason": "测试"} for a in (
    Action.INVALIDATE, Action.DUPLICATE, Action.NOT_OURS, Action.SELF_HANDLE, Action.RETURN,
    Action.HOLD, Action.REWORK, Action.REOPEN, Action.ESCALATE)}
DISPUTE = "09-01"


# ---------------------------------------------------------------- helpers

def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def step(session, incident, action: str, minutes: float, **params) -> None:
    """Apply one lifecycle step at T0 + minutes."""
    action = Action(action)
    if action == Action.BREACH:
        deadline = incident.due_at
        assert deadline <= at(minutes), "a breach needs its deadline to have passed"
        assert lifecycle.breach(session, incident, OPS, expected_version=incident.version,
                                stage=incident.due_stage, deadline=deadline, now=at(minutes))
        return
    lifecycle.HANDLERS[action](session, incident, OPS, expected_version=incident.version,
                               now=at(minutes), **{**REASONS.get(action, {}), **params})


def walk(session, world, minutes: float = 0, *, grid: str = "A1a", item: str = "14-01",
         steps=()) -> Incident:
    """Report at T0 + minutes, then take `steps`: (action, minutes, params?)."""
    incident = lifecycle.report(session, OPS, item_id=world.items[item].id, now=at(minutes),
                                area_id=world.areas[grid].id, description="测试事件", channel="app")
    for action, when, *params in steps:
        step(session, incident, action, when, **(params[0] if params else {}))
    return incident


def dept(world, key: str) -> dict:
    return {"department_id": world.departments[key].id}


def loop(world, start: float, resolve: float, close: float, dept_key="dept-A", **closing):
    """accept, dispatch, acknowledge, start, resolve and close: all on time."""
    return [("accept", start + 10), ("dispatch", start + 20, dept(world, dept_key)),
            ("acknowledge", start + 30), ("start", start + 40), ("resolve", resolve),
            ("close", close, closing)]


def get_row(session, area_id: int, day: date, category_id: int = 0) -> DailyMetric | None:
    return session.scalars(select(DailyMetric).where(
        DailyMetric.area_id == area_id, DailyMetric.day == day,
        DailyMetric.category_id == category_id)).one_or_none()


def counts_of(row) -> dict:
    return {c: getattr(row, c) for c in COUNTS}


def list_rows(session) -> list[tuple]:
    """Every stored row, without its id and computation time."""
    skip = {"id", "computed_at"}
    result = []
    for table in (DailyMetric, DailyDepartmentMetric):
        columns = [c for c in table.__table__.columns if c.name not in skip]
        result += [tuple(r) for r in session.execute(select(*columns).order_by(*columns[:4]))]
    return result


# ---------------------------------------------------------------- the main scenario

@pytest.fixture
def world(session):
    return make_world(session)


@pytest.fixture
def scenario(session, world):
    """Thirteen incidents reported on day D in village A1, and what happens on D + 1.

    a  on time all the way, closed satisfied after 3 h
    b  accept breached (escalated), then closed dissatisfied after 5 h — not on time
    c  invalid, d duplicate of a, e not ours — left out of everything
    f  self-handled, closed after 30 min
    g  dispatched, returned, re-dispatched elsewhere, reassigned, postponed; open
    h  handling breached at 21:30 (escalated); open and overdue
    i  resolved, reworked, resolved, closed after 2.5 h; reopened on D + 1
    j  dispute closed as mediated after 4 h;  k  dispute closed as failed after 6 h
    l  reported 22:00, escalated by hand; its dispatch limit breached on D + 1
    m  reported 23:00, accepted on D + 1
    """
    a = walk(session, world, steps=loop(world, 0, 120, 180, satisfaction="satisfied"))
    walk(session, world, steps=[
        ("breach", 121), ("accept", 125), ("dispatch", 130, dept(world, "dept-A")),
        ("acknowledge", 140), ("start", 150), ("resolve", 240),
        ("close", 300, {"satisfaction": "dissatisfied"})])
    walk(session, world, steps=[("invalidate", 5)])
    session.flush()
    walk(session, world, steps=[("duplicate", 5, {"duplicate_of_id": a.id})])
    walk(session, world, steps=[("not-ours", 5)])
    walk(session, world, 60, steps=[("self-handle", 70), ("close", 90)])
    g = walk(session, world, steps=[
        ("accept", 10), ("dispatch", 20, dept(world, "dept-A")), ("return", 30),
        ("dispatch", 40, dept(world, "dept-A1")), ("acknowledge", 50), ("start", 60),
        ("reassign", 90, dept(world, "dept-A"))])
    step(session, g, "hold", 120, new_deadline=g.handle_due + timedelta(days=1))
    h = walk(session, world, steps=[("accept", 10), ("dispatch", 20, dept(world, "dept-A")),
                                     ("acknowledge", 30), ("start", 40), ("breach", 750)])
    i = walk(session, world, steps=[
        *loop(world, 0, 60, 150)[:5], ("rework", 90), ("resolve", 120), ("close", 150)])
    walk(session, world, item=DISPUTE, steps=loop(world, 0, 200, 240, dispute_outcome="mediated"))
    walk(session, world, item=DISPUTE, steps=loop(world, 0, 300, 360, dispute_outcome="failed"))
    l_ = walk(session, world, 780, steps=[("accept", 785), ("escalate", 790)])
    m = walk(session, world, 840)
    # Day D + 1 (it starts at T0 + 15 h).
    step(session, l_, "breach", 910)
    step(session, m, "accept", 930)
    step(session, a, "rate", 1200, satisfaction="neutral")
    step(session, i, "reopen", 1260)
    session.commit()
    return {"a": a, "h": h, "i": i, "l": l_, "m": m}


DAY_D = {
    "reported": 10, "accepted": 9, "self_handled": 1, "dispatched": 8, "returned": 1,
    "resolved": 6, "closed": 6, "closed_on_time": 5, "reopened": 0, "reworked": 1,
    "checked": 6, "postponed": 1, "escalated": 3, "reassigned": 1, "breached": 2,
    "accept_done": 9, "accept_on_time": 8, "dispatch_done": 8, "dispatch_on_time": 8,
    "handle_done": 6, "handle_on_time": 6, "check_done": 7, "check_on_time": 7,
    "disputes_closed": 2, "disputes_mediated": 1, "feedback": 2, "satisfied": 1,
    "handling_seconds": (180 + 300 + 30 + 150 + 240 + 360) * 60,
    "open_end": 4, "overdue_end": 1,
}


def test_it_counts_every_indicator_of_a_day(session, world, scenario):
    metrics.compute_day(session, D)
    row = get_row(session, world.areas["A1"].id, D)
    assert counts_of(row) == DAY_D
    assert (row.level, row.category_id) == (AreaLevel.VILLAGE, 0)


def test_it_stores_rates_made_from_the_counts(session, world, scenario):
    metrics.compute_day(session, D)
    row = get_row(session, world.areas["A1"].id, D)
    expected = {
        "on_time_closure_rate": 5 / 7, "closure_rate": 6 / 9, "accept_on_time_rate": 8 / 9,
        "dispatch_on_time_rate": 1.0, "handle_on_time_rate": 1.0, "check_on_time_rate": 1.0,
        "dispatch_accuracy": 1 - 1 / 8, "rework_rate": 1 / 6, "postponement_rate": 1 / 8,
        "self_handled_share": 1 / 9, "dispute_resolution_rate": 1 / 2, "satisfaction_rate": 1 / 2,
        "handling_mean_s": 12600.0,
        # closes after 30, 150, 180, 240, 300, 360 minutes
        "handling_median_s": (180 + 240) / 2 * 60, "handling_p90_s": (300 + 0.5 * 60) * 60,
    }
    assert {k: getattr(row, k) for k in expected} == pytest.approx(expected)


def test_it_counts_events_on_the_day_they_happen(session, world, scenario):
    metrics.compute_day(session, D1)
    row = get_row(session, world.areas["A1"].id, D1)
    changed = {"accepted": 1, "accept_done": 1, "accept_on_time": 1, "breached": 1,
               "escalated": 1, "feedback": 1, "reopened": 1, "open_end": 5, "overdue_end": 2}
    assert counts_of(row) == {**dict.fromkeys(COUNTS, 0), **changed}
    assert (row.on_time_closure_rate, row.satisfaction_rate, row.closure_rate) == (0.0, 0.0, 0.0)
    assert row.handling_median_s is None and row.dispatch_accuracy is None


def test_it_splits_a_day_by_category(session, world, scenario):
    metrics.compute_day(session, D)
    area = world.areas["A1"].id
    disputes = get_row(session, area, D, world.items[DISPUTE].category_id)
    sanitation = get_row(session, area, D, world.items["14-01"].category_id)
    assert (disputes.reported, disputes.closed, disputes.disputes_closed) == (2, 2, 2)
    assert (disputes.dispute_resolution_rate, disputes.handling_median_s) == (0.5, 300 * 60)
    assert (sanitation.reported, sanitation.closed, sanitation.open_end) == (8, 4, 4)
    assert sanitation.dispute_resolution_rate is None
    both = {c: getattr(disputes, c) + getattr(sanitation, c) for c in COUNTS}
    assert both == counts_of(get_row(session, area, D))


def test_it_rolls_villages_up_to_their_town_and_city(session, world, scenario):
    walk(session, world, grid="B1a", steps=loop(world, 0, 60, 90, "dept-B"))
    walk(session, world, grid="A1b", steps=[("accept", 10)])
    session.commit()
    metrics.compute_day(session, D)
    area = world.areas
    a1, b1 = counts_of(get_row(session, area["A1"].id, D)), counts_of(get_row(session, area["B1"].id, D))
    assert a1["reported"] == 11 and b1["reported"] == 1 and b1["closed"] == 1
    assert counts_of(get_row(session, area["A"].id, D)) == a1
    assert counts_of(get_row(session, area["B"].id, D)) == b1
    city = get_row(session, area["C"].id, D)
    assert counts_of(city) == {c: a1[c] + b1[c] for c in COUNTS}
    assert city.level == AreaLevel.CITY
    assert city.satisfaction_rate == 0.5 and city.on_time_closure_rate == 6 / 8


def test_it_credits_dispatches_and_returns_to_the_department_named(session, world, scenario):
    metrics.compute_day(session, D)
    rows = {r.department_id: r for r in session.scalars(
        select(DailyDepartmentMetric).where(DailyDepartmentMetric.day == D))}
    dept_a, dept_a1 = rows[world.departments["dept-A"].id], rows[world.departments["dept-A1"].id]
    assert (dept_a.dispatched, dept_a.returned, dept_a.dispatch_accuracy) == (7, 1, 1 - 1 / 7)
    assert (dept_a1.dispatched, dept_a1.returned, dept_a1.dispatch_accuracy) == (1, 0, 1.0)
    # Other events go to the department that holds the incident now: i was reopened on
    # D + 1, which takes it from its department, so dept-A is credited 4 of its 5 closes.
    assert (dept_a.level, dept_a.overdue_end, dept_a.closed) == (AreaLevel.TOWN, 1, 4)


# ---------------------------------------------------------------- exclusions and stocks

def test_it_leaves_out_invalid_duplicate_and_not_ours(session, world):
    kept = walk(session, world, steps=[("accept", 10)])
    session.flush()
    walk(session, world, steps=[("invalidate", 5)])
    walk(session, world, steps=[("duplicate", 5, {"duplicate_of_id": kept.id})])
    walk(session, world, steps=[("not-ours", 5)])
    walk(session, world, steps=[("invalidate", 1000)])  # set aside only on D + 1
    walk(session, world, grid="B1a", steps=[("not-ours", 5)])
    session.commit()
    metrics.compute_day(session, D)
    row = get_row(session, world.areas["A1"].id, D)
    assert (row.reported, row.accepted, row.open_end) == (1, 1, 1)
    assert get_row(session, world.areas["B1"].id, D) is None  # nothing left to say
    city = get_row(session, world.areas["C"].id, D)
    assert (city.reported, city.accept_done, city.open_end) == (1, 1, 1)


def test_it_counts_open_and_overdue_at_the_end_of_the_day(session, world):
    def working(minutes=0, dispatch=20):
        return [("accept", minutes + 10), ("dispatch", dispatch, dept(world, "dept-A")),
                ("acknowledge", dispatch + 10), ("start", dispatch + 20)]

    walk(session, world, steps=[*working(), ("breach", 750)])                  # still late
    walk(session, world, steps=[*working(), ("breach", 750), ("resolve", 800)])  # done, late
    postponed = walk(session, world, steps=[*working(), ("breach", 750)])
    step(session, postponed, "hold", 800, new_deadline=at(3000))              # approved
    noticed_late = walk(session, world, steps=working(dispatch=170))          # due 23:50
    step(session, noticed_late, "breach", 901)                                # seen 00:01
    walk(session, world, steps=[*working(), ("resolve", 60), ("close", 120)])
    session.commit()
    metrics.backfill(session, D, D1)
    area = world.areas["A1"].id
    today, tomorrow = get_row(session, area, D), get_row(session, area, D1)
    assert (today.open_end, today.overdue_end, today.breached) == (4, 1, 3)
    assert (today.closed, today.closed_on_time, today.on_time_closure_rate) == (1, 1, 0.5)
    assert (today.handle_done, today.handle_on_time) == (2, 1)
    assert (tomorrow.open_end, tomorrow.overdue_end, tomorrow.breached) == (4, 2, 1)


# ---------------------------------------------------------------- writing and reading

def test_it_recomputes_a_day_idempotently(session, world, scenario):
    first = metrics.compute_day(session, D)
    session.commit()
    stored = list_rows(session)
    assert metrics.compute_day(session, D) == first
    session.commit()
    assert list_rows(session) == stored
    walk(session, world, 800)  # one more report on D
    session.commit()
    assert metrics.compute_day(session, D) == first
    session.commit()
    assert get_row(session, world.areas["A1"].id, D).reported == DAY_D["reported"] + 1
    keys = select(DailyMetric.area_id, DailyMetric.category_id, func.count()).where(
        DailyMetric.day == D).group_by(DailyMetric.area_id, DailyMetric.category_id)
    assert {n for *_, n in session.execute(keys)} == {1}


def test_it_writes_a_day_in_one_transaction(session, world, scenario):
    metrics.compute_day(session, D)
    session.commit()
    stored = list_rows(session)
    metrics.compute_day(session, D)
    walk(session, world, 800)
    metrics.compute_day(session, D)
    session.rollback()
    assert list_rows(session) == stored


def test_it_sums_a_range_and_recomputes_its_rates(session, world, scenario):
    assert metrics.backfill(session, D, D1) > 0
    figures = get_range(session, world.areas["A"].id, D, D1)
    assert (figures["reported"], figures["accepted"], figures["closed"]) == (10, 10, 6)
    assert (figures["feedback"], figures["satisfied"]) == (3, 1)
    assert (figures["open_end"], figures["overdue_end"]) == (5, 2)  # as at the end of D + 1
    assert figures["satisfaction_rate"] == pytest.approx(1 / 3)  # not the mean of 1/2 and 0/1
    assert figures["on_time_closure_rate"] == pytest.approx(5 / 8)
    assert figures["handling_median_s"] == 210 * 60
    disputes = get_range(session, world.areas["C"].id, D, D1, world.items[DISPUTE].category_id)
    assert (disputes["disputes_closed"], disputes["dispute_resolution_rate"]) == (2, 0.5)
    assert disputes["handling_p90_s"] == pytest.approx((240 + 0.9 * 120) * 60)


def test_it_refreshes_today_as_of_now(session, world):
    walk(session, world, steps=[("accept", 10)])
    session.commit()
    assert metrics.refresh_today(session, now=at(30)) > 0
    assert get_row(session, world.areas["A1"].id, D).open_end == 1
    walk(session, world, 60)
    session.commit()
    metrics.refresh_today(session, now=at(70))
    row = get_row(session, world.areas["A1"].id, D)
    assert (row.reported, row.accepted, row.open_end) == (2, 1, 2)


# ---------------------------------------------------------------- rankings

def _closed_cases(session, world, grid: str, count: int, late: int = 0) -> None:
    department = "dept-A" if grid.startswith("A") else "dept-B"
    for n in range(count):
        steps = loop(world, 0, 60, 90, department)
        if n < late:
            steps = [("breach", 121), *[(a, w + 121, *p) for a, w, *p in steps]]
        walk(session, world, grid=grid, steps=steps)


def test_it_ranks_only_areas_with_enough_cases(session, world):
    _closed_cases(session, world, "A1a", 30, late=3)
    _closed_cases(session, world, "B1a", 5)
    session.commit()
    metrics.compute_day(session, D)
    towns = list_rankings(session, D, D, level="town")
    assert [(t["name"], t["rank"], t["value"], t["cases"], t["status"]) for t in towns] == [
        ("区域A", 1, pytest.approx(0.9), 30, "ranked"), ("区域B", None, None, 5, TOO_FEW)]
    relaxed = list_rankings(session, D, D, level="town", min_cases=5)
    assert [(t["name"], t["rank"], t["value"]) for t in relaxed] == [
        ("区域B", 1, 1.0), ("区域A", 2, pytest.approx(0.9))]


def test_it_ranks_departments_and_lower_is_better_indicators(session, world):
    _closed_cases(session, world, "A1a", 30, late=3)
    _closed_cases(session, world, "B1a", 30)
    session.commit()
    metrics.compute_day(session, D)
    departments = list_rankings(session, D, D, level="town", by="department")
    assert [(d["id"], d["rank"], d["cases"]) for d in departments] == [
        (world.departments["dept-B"].id, 1, 30), (world.departments["dept-A"].id, 2, 30)]
    slowest_last = list_rankings(session, D, D, indicator="handling_mean_s")
    assert [t["name"] for t in slowest_last] == ["区域B", "区域A"]  # A waited 2 h longer on 3
    assert [t["rank"] for t in list_rankings(session, D, D, indicator="self_handled_share")] == [1, 1]


def test_it_refuses_an_unknown_indicator(session, world):
    from models.errors import Invalid

    with pytest.raises(Invalid) as caught:
        list_rankings(session, D, D, indicator="happiness")
    assert caught.value.field == "indicator"


# ---------------------------------------------------------------- entry points

@pytest.fixture
def job_env(monkeypatch, engine, db_url):
    monkeypatch.setenv("DATABASE_URL", db_url)
    yield
    for key in [k for k in connections._cache if db_url in k[1]]:
        connections._cache.pop(key).kw["bind"].dispose()


def _yesterday_and_today(session, world) -> tuple[date, date]:
    """An incident reported yesterday (local) and one today, both still open."""
    today = get_local_day(utcnow())
    make_incident(session, world, now=get_day_window(today - timedelta(days=1))[0] + timedelta(hours=12))
    make_incident(session, world, now=min(utcnow(), get_day_window(today)[0] + timedelta(minutes=1)))
    session.commit()
    return today - timedelta(days=1), today


def test_it_runs_the_jobs_under_rq_and_twice_changes_nothing(session, world, job_env, redis,
                                                             redis_server):
    yesterday, today = _yesterday_and_today(session, world)
    connection = redis_lib.Redis.from_url(redis_server.url, socket_timeout=10)  # RQ: bytes
    queue = Queue("metrics-test", connection=connection)
    jobs = [queue.enqueue(f"workers.metrics.{name}")
            for name in ("job_close_yesterday", "job_refresh_today", "job_close_yesterday")]
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert [j.get_status() for j in jobs] == ["finished"] * 3
    assert jobs[0].return_value() == jobs[2].return_value() > 0
    session.expire_all()
    area = world.areas["A1"].id
    assert (get_row(session, area, yesterday).reported, get_row(session, area, yesterday).open_end) == (1, 1)
    assert (get_row(session, area, today).reported, get_row(session, area, today).open_end) == (1, 2)
    stored = list_rows(session)
    metrics.job_close_yesterday()
    session.expire_all()
    assert list_rows(session) == stored
    connection.close()


def test_it_backfills_from_the_command_line_entry(session, world, job_env, capsys):
    yesterday, _ = _yesterday_and_today(session, world)
    assert metrics.main_backfill(2) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["end"] == yesterday.isoformat() and printed["rows"] > 0
    session.expire_all()
    assert get_row(session, world.areas["C"].id, yesterday).reported == 1


# ---------------------------------------------------------------- generated history

HISTORY_END = datetime(2026, 11, 1, 15, 59, 59, tzinfo=timezone.utc)  # 23:59:59 local
BOUNDED = ("on_time_closure_rate", "accept_on_time_rate", "dispatch_on_time_rate",
           "handle_on_time_rate", "check_on_time_rate", "rework_rate", "self_handled_share",
           "dispute_resolution_rate", "satisfaction_rate")


def _sum_children(rows, parent_level, child_level, parent_of) -> tuple[dict, dict]:
    parents, sums = {}, {}
    for r in rows:
        if r.level == parent_level:
            parents[(r.day, r.area_id, r.category_id)] = counts_of(r)
        elif r.level == child_level:
            key = (r.day, parent_of[r.area_id], r.category_id)
            total = sums.setdefault(key, dict.fromkeys(COUNTS, 0))
            for c in COUNTS:
                total[c] += getattr(r, c)
    return parents, sums


def test_it_agrees_with_generated_history(city_session):
    from models import Area

    made = generate_history(city_session, days=3, per_day=300, seed=1, end=HISTORY_END, progress=False)
    last = get_local_day(HISTORY_END)
    days = [last - timedelta(days=n) for n in (2, 1, 0)]
    metrics.backfill(city_session, days[0], days[-1])
    walked = list_rows(city_session)
    for day in days:  # a single day computed alone agrees with the backfill's walk back
        metrics.compute_day(city_session, day)
    city_session.commit()
    assert list_rows(city_session) == walked

    rows = list(city_session.scalars(select(DailyMetric)))
    city = [r for r in rows if r.level == AreaLevel.CITY and r.category_id == 0]
    start, end = get_day_window(days[0])[0], get_day_window(days[-1])[1]
    valid = Incident.state.not_in(EXCLUDED_STATES)
    reported = city_session.scalar(select(func.count()).select_from(Incident).where(
        valid, Incident.reported_at >= start, Incident.reported_at < end))
    closes = city_session.scalar(select(func.count()).select_from(IncidentEvent).join(Incident).where(
        valid, IncidentEvent.action == "close", IncidentEvent.at >= start, IncidentEvent.at < end))
    still_open = city_session.scalar(select(func.count()).select_from(Incident).where(
        Incident.state.not_in(EXCLUDED_STATES | {State.CLOSED})))
    excluded = city_session.scalar(select(func.count()).select_from(Incident).where(~valid))
    assert excluded > 0 and reported == made["incidents"] - excluded
    assert sum(r.reported for r in city) == reported
    assert sum(r.closed for r in city) == closes
    assert max(city, key=lambda r: r.day).open_end == still_open

    parent_of = dict(city_session.execute(select(Area.id, Area.parent_id)).all())
    for parent, child in ((AreaLevel.TOWN, AreaLevel.VILLAGE), (AreaLevel.CITY, AreaLevel.TOWN)):
        parents, sums = _sum_children(rows, parent, child, parent_of)
        assert parents == sums
    for r in rows:
        assert all(getattr(r, k) is None or 0 <= getattr(r, k) <= 1 for k in BOUNDED), r.id
        assert r.closure_rate is None or r.closure_rate >= 0
        assert r.dispatch_accuracy is None or r.dispatch_accuracy <= 1
        assert r.handling_median_s is None or 0 < r.handling_median_s <= r.handling_p90_s
    total = get_range(city_session, city[0].area_id, days[0], days[-1])
    assert total["reported"] == reported
    assert 0.5 < total["on_time_closure_rate"] < 1 and 0.8 < total["satisfaction_rate"] <= 1
    assert set(RATES) <= set(total)
