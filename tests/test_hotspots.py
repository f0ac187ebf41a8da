"""Hotspots: rolling report counts per grid/village/town and their Poisson anomaly score."""
from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models import lifecycle
from models.actor import Actor
from models.area import Area
from models.catalogue import Item
from models.incident import Incident
from seed.history import generate_history
from workers import hotspots, keys

END = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
NOW = END + timedelta(minutes=7)


def sql_counts(session, level: str, now: datetime) -> dict[int, dict[str, int]]:
    column = {"grid": Incident.grid_id, "village": Incident.village_id,
              "town": Incident.town_id}[level]
    current = hotspots.bucket_of(now)
    counts: dict[int, Counter] = {}
    for area_id, reported_at in session.execute(select(column, Incident.reported_at)):
        age = (current - hotspots.bucket_of(reported_at)) * hotspots.BUCKET
        for name, span in hotspots.WINDOWS.items():
            if 0 <= age <= span:
                counts.setdefault(area_id, Counter())[name] += 1
    return {area_id: dict(c) for area_id, c in counts.items()}


def redis_counts(redis, level: str, now: datetime) -> dict[int, dict[str, int]]:
    return {s["area_id"]: {k: s[k] for k in hotspots.WINDOWS if s[k]}
            for s in hotspots.read_hotspots(redis, level, now=now)}


@pytest.fixture
def history(city_session):
    generate_history(city_session, days=2, per_day=300, seed=1, end=END, progress=False)
    return city_session


def report_in(session, grid_id: int, at: datetime, item_id: int) -> Incident:
    incident = lifecycle.report(session, Actor.system("t"), item_id=item_id, area_id=grid_id,
                                description="test", channel="hotline", now=at)
    session.commit()
    return incident


def test_it_counts_each_window_like_sql_at_every_level(history, redis):
    hotspots.run_hotspot_steps(history, redis, now=NOW)
    for level in hotspots.LEVELS:
        expected = sql_counts(history, level, NOW)
        assert expected and redis_counts(redis, level, NOW) == expected


def test_the_map_reader_agrees_with_the_whole_hotspot_read(history, redis):
    """What the wall's map reads (only two windows' buckets, in one script) equals what
    read_hotspots computes from each area's whole week, under every parent at every level."""
    hotspots.run_hotspot_steps(history, redis, now=NOW)
    compared = Counter()
    for level in hotspots.LEVELS:
        parents = {area.parent_id for area in history.scalars(select(Area).where(Area.level == level))}
        for parent_id in parents:
            spots = {s["area_id"]: s for s in hotspots.read_hotspots(redis, level, parent_id, now=NOW)}
            children = hotspots.read_children_windows(redis, level, parent_id, now=NOW)
            assert [c["area_id"] for c in children] == sorted(spots), (level, parent_id)
            for child in children:
                spot = spots[child["area_id"]]
                assert child == {k: spot[k] for k in ("area_id", "count_24h", "count_1h", "score")}
                compared[level] += 1
                compared["1h"] += child["count_1h"] > 0
    assert compared["grid"] and compared["village"] and compared["town"], compared
    assert compared["1h"], \
        "the history must put reports in the last hour, or the 1-hour comparison proves little"


def test_the_map_reader_reads_a_dense_week_and_a_sparse_one_alike(redis):
    """A busy area's hash has a field for every 5-minute bucket of the week; the reader then
    looks the window's buckets up by name instead of scanning (READ_CHILDREN)."""
    current = hotspots.bucket_of(NOW)
    weeks = {901: {str(current - age): 1 + age % 7 for age in range(8 * 288)},  # dense: by name
             902: {str(current - age): 3 for age in range(0, 8 * 288, 97)},    # sparse: a scan
             903: {}}                                                            # none yet
    weeks[901][str(current + 1)] = 50  # a bucket after `now` (a clock ahead) is not counted
    redis.hset(keys.HOT_BASELINE.format(area_id=902), mapping={str(slot): 2 for slot in range(168)})
    for area_id, week in weeks.items():
        if week:
            redis.hset(keys.HOT_BUCKETS.format(area_id=area_id), mapping=week)
        redis.sadd(keys.HOT_LEVEL.format(level="village"), area_id)
        redis.sadd(keys.HOT_CHILDREN.format(parent_id=900), area_id)
    redis.sadd(keys.HOT_LEVEL.format(level="village"), 904)  # a village under another town
    children = hotspots.read_children_windows(redis, "village", 900, now=NOW)
    assert [c["area_id"] for c in children] == [901, 902, 903]
    for child in children:
        expected = hotspots.sum_windows(weeks[child["area_id"]], NOW)
        assert (child["count_24h"], child["count_1h"]) == (expected["count_24h"], expected["count_1h"])
    dense, sparse, empty = children
    assert dense["count_1h"] and dense["count_24h"] > dense["count_1h"] and sparse["count_24h"] == 9
    assert dense["score"] > 6 and empty == {"area_id": 903, "count_24h": 0, "count_1h": 0, "score": 0.0}
    assert sparse["score"] == round(hotspots.anomaly_score(sparse["count_1h"], 2.0), 3)


def test_it_changes_nothing_when_a_step_runs_twice(history, redis):
    hotspots.run_hotspot_steps(history, redis, now=NOW)
    before = {key: redis.dump(key) for key in hotspots.list_hot_keys(redis)}
    assert hotspots.hotspot_step(history, redis, now=NOW) is False
    assert {key: redis.dump(key) for key in hotspots.list_hot_keys(redis)} == before


def test_it_ignores_a_step_whose_cursor_was_moved_under_it(history, redis):
    rows = hotspots.list_reports_after(history, 0, 5)
    keys_, argv = hotspots.build_step_args(rows, 0, NOW)
    assert redis.eval(hotspots.APPLY_REPORTS, len(keys_), *keys_, *argv) > 0
    assert redis.eval(hotspots.APPLY_REPORTS, len(keys_), *keys_, *argv) == -1


def test_it_reconciles_after_a_wipe_to_what_the_steps_built(history, redis):
    hotspots.run_hotspot_steps(history, redis, now=NOW)
    incremental = {level: redis_counts(redis, level, NOW) for level in hotspots.LEVELS}
    cursor = hotspots.read_hot_cursor(redis)
    redis.flushdb()
    summary = hotspots.reconcile(history, redis, now=NOW)
    assert summary["cursor"] == cursor == hotspots.get_last_report_id(history)
    assert {level: redis_counts(redis, level, NOW) for level in hotspots.LEVELS} == incremental


def test_it_continues_from_the_reconciled_cursor(history, redis):
    hotspots.reconcile(history, redis, now=NOW)
    grid_id = history.scalar(select(Incident.grid_id).where(Incident.grid_id.is_not(None)).limit(1))
    item_id = history.scalar(select(Item.id).limit(1))
    before = {s["area_id"]: s["count_1h"] for s in hotspots.read_hotspots(redis, "grid", now=NOW)}
    report_in(history, grid_id, NOW - timedelta(minutes=1), item_id)
    hotspots.run_hotspot_steps(history, redis, now=NOW)
    after = {s["area_id"]: s["count_1h"] for s in hotspots.read_hotspots(redis, "grid", now=NOW)}
    assert after[grid_id] == before.get(grid_id, 0) + 1
    assert redis_counts(redis, "village", NOW) == sql_counts(history, "village", NOW)


def test_it_lists_only_the_children_of_a_parent(history, redis):
    hotspots.reconcile(history, redis, now=NOW)
    town_id = hotspots.read_hotspots(redis, "town", now=NOW)[0]["area_id"]
    villages = hotspots.read_hotspots(redis, "village", town_id, now=NOW)
    parents = set(history.scalars(select(Area.parent_id).where(
        Area.id.in_([v["area_id"] for v in villages]))))
    assert villages and parents == {town_id}


@pytest.mark.parametrize("n, lam, p", [
    (5, 2.0, 0.052653017343711125), (0, 0.0, 1.0), (0, 3.0, 1.0), (1, 1.0, 1 - math.exp(-1)),
    (3, 10.0, 1 - math.exp(-10) * (1 + 10 + 50)),
])
def test_it_computes_the_poisson_tail(n, lam, p):
    assert hotspots.poisson_tail(n, lam) == pytest.approx(p, rel=1e-12)


def test_it_handles_a_zero_rate_and_tiny_tails():
    assert hotspots.poisson_tail(3, 0.0) == 0.0
    log_p = hotspots.poisson_log_tail(400, 1.0)  # ~1e-870: below float range, fine in logs
    series = 1 + 1 / 401 + 1 / 401 / 402
    assert log_p == pytest.approx(-math.lgamma(401) - 1 + math.log(series), rel=1e-9)
    floor = hotspots.LAMBDA_FLOOR
    assert hotspots.anomaly_score(1, 0.0) == pytest.approx(-math.log10(1 - math.exp(-floor)))


def test_it_scores_a_burst_far_above_a_busy_but_normal_area(city_session, redis):
    busy, quiet = city_session.scalars(select(Area.id).where(Area.level == "grid").limit(2)).all()
    item_id = city_session.scalar(select(Item.id).limit(1))
    now = datetime(2026, 3, 30, 10, 30, tzinfo=UTC)
    for week in range(1, 5):  # busy: 6 reports an hour, 9:00 to 11:00 this weekday, every week
        for minute in range(-20, 100, 10):
            report_in(city_session, busy, now - timedelta(weeks=week, minutes=minute), item_id)
    for minute in range(0, 60, 10):
        report_in(city_session, busy, now - timedelta(minutes=minute + 1), item_id)
    for minute in range(5):  # quiet: never a report, now 5 in an hour
        report_in(city_session, quiet, now - timedelta(minutes=minute + 1), item_id)
    hotspots.reconcile(city_session, redis, now=now)
    spots = {s["area_id"]: s for s in hotspots.read_hotspots(redis, "grid", now=now)}
    assert spots[busy]["count_1h"] == 6 and spots[busy]["expected"] == pytest.approx(6.0)
    assert spots[quiet]["count_1h"] == 5 and spots[quiet]["expected"] == 0
    assert spots[busy]["score"] < 1
    assert spots[quiet]["score"] > 5
    assert hotspots.read_hotspots(redis, "grid", now=now)[0]["area_id"] == quiet
