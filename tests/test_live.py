"""Live state in Redis against SQL: the relay, idempotency, notices, outages and rebuilds.

Every check compares Redis with SQL for all incidents, on a copy of the reference city.
"""
from __future__ import annotations

import json
import logging
import random
import threading
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select

from models import Area, Category, Incident, IncidentEvent, Item
from models import lifecycle
from models.actor import Actor
from models.db import make_session_factory
from models.enums import AreaLevel, Channel, State
from models.errors import IllegalTransition
from models.routing import list_candidate_departments
from models.sla import CITY_ZONE
from seed.history import generate_history
from workers import keys, live
from workers.embedded_redis import EmbeddedRedis

ACTOR = Actor.system("test")
# Noon today in the city: every event of a test falls on one local day, and counters'
# expiry (Redis's own clock) lies ahead.
NOON = datetime.now(CITY_ZONE).replace(hour=12, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
# What the brief asks the wall to find in every incident hash.
WALL_FIELDS = {"id", "version", "state", "level", "item_id", "category_id", "priority", "city_id",
               "town_id", "village_id", "grid_id", "lon", "lat", "reported_at", "due_stage", "due_at",
               "warn_at", "due_breached", "breach_count", "escalation_count", "department_id",
               "description", "updated_at"}


# ---------------------------------------------------------------- making changes

class Driver:
    """Commits one lifecycle change at a time, on a clock that moves 20 s per change."""

    def __init__(self, session, start: datetime, seed: int = 1, towns: list[int] | None = None):
        self.session, self.now, self.rng = session, start, random.Random(seed)
        query = select(Area.id).where(Area.level == AreaLevel.GRID)
        if towns:
            query = query.where(Area.town_id.in_(towns))
        self.grids = list(session.scalars(query.order_by(Area.id)))
        self.items = list(session.scalars(select(Item.id).order_by(Item.id)))
        self.disputes = set(session.scalars(select(Category.id).where(Category.is_dispute)))
        self.open_ids = sorted(session.scalars(select(Incident.id).where(
            Incident.state.not_in(live.CLOSED_STATES), Incident.grid_id.in_(self.grids))))

    def change(self) -> None:
        self.now += timedelta(seconds=20)
        if not self.open_ids or self.rng.random() < 0.3:
            self.report()
        else:
            self.advance(self.session.get(Incident, self.rng.choice(self.open_ids)))
        self.session.commit()

    def report(self) -> Incident:
        incident = lifecycle.report(
            self.session, ACTOR, item_id=self.rng.choice(self.items), channel=Channel.HOTLINE,
            area_id=self.rng.choice(self.grids), description="路灯不亮 " * self.rng.randint(1, 12),
            lon=113.7 + self.rng.random() / 10, lat=23.0 + self.rng.random() / 10, now=self.now)
        self.open_ids.append(incident.id)
        return incident

    def advance(self, incident: Incident) -> None:
        step = self.pick(incident)
        try:
            step(incident, expected_version=incident.version, now=self.now)
        except IllegalTransition:  # escalating at city level, or nobody to dispatch to
            pass
        if not incident.is_open:
            self.open_ids.remove(incident.id)

    def pick(self, incident: Incident):
        s, roll, do = incident.state, self.rng.random(), self.do
        if incident.due_at and incident.due_at <= self.now and not incident.due_breached:
            return lambda i, **kw: lifecycle.breach(self.session, i, ACTOR, stage=i.due_stage,
                                                     deadline=i.due_at, **kw)
        if roll < 0.05:
            return do(lifecycle.escalate, reason="督办")
        return {
            State.REPORTED: do(lifecycle.invalidate, reason="无效") if roll < 0.15
            else do(lifecycle.accept),
            State.ACCEPTED: self.dispatch, State.RETURNED: self.dispatch,
            State.REOPENED: self.dispatch,
            State.DISPATCHED: do(lifecycle.return_to_centre, reason="非本部门") if roll < 0.15
            else do(lifecycle.acknowledge),
            State.ACKNOWLEDGED: do(lifecycle.start),
            State.IN_PROGRESS: do(lifecycle.hold, reason="待配件") if roll < 0.15
            else do(lifecycle.resolve),
            State.ON_HOLD: do(lifecycle.resume),
            State.RESOLVED: do(lifecycle.rework, reason="未修好") if roll < 0.2 else self.close,
            State.SELF_HANDLED: self.close,
        }[s]

    def do(self, fn, **params):
        return lambda incident, **kw: fn(self.session, incident, ACTOR, **params, **kw)

    def dispatch(self, incident: Incident, **kw) -> None:
        candidates = list_candidate_departments(self.session, incident)
        if not candidates:
            raise IllegalTransition("no department", state=incident.state, version=incident.version)
        lifecycle.dispatch(self.session, incident, ACTOR, department_id=candidates[0], **kw)

    def close(self, incident: Incident, **kw) -> None:
        outcome = "mediated" if incident.category_id in self.disputes else None
        lifecycle.close(self.session, incident, ACTOR, dispute_outcome=outcome, **kw)


def make_history(session) -> None:
    generate_history(session, days=1, per_day=300, end=NOON, progress=False)


def relay_all(session, client, now: datetime) -> int:
    total = 0
    while (done := live.relay_step(session, client, now=now)) > 0:
        total += done
    return total


def make_client(server: EmbeddedRedis) -> redis_lib.Redis:
    """No retries: a refused connection fails at once instead of backing off for seconds."""
    return redis_lib.Redis.from_url(server.url, decode_responses=True, socket_timeout=2,
                                    socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))


# ---------------------------------------------------------------- comparing with SQL

def expected_hash(incident: Incident) -> dict:
    values = {name: getattr(incident, name) for name in live.HASH_FIELDS}
    values["description"] = incident.description.encode()[:60].decode(errors="ignore")
    return values


def read_members(client, template: str) -> dict[str, object]:
    found = {}
    for key in client.scan_iter(match=template.format(area_id="*"), count=1000):
        kind = client.type(key)
        found[key] = (client.smembers(key) if kind == "set"
                      else dict(client.zrange(key, 0, -1, withscores=True)))
    return found


def expected_members(incidents: list[Incident]) -> dict[str, dict]:
    sets, due, warn = defaultdict(set), defaultdict(dict), defaultdict(dict)
    for incident in incidents:
        for area_id in incident.area_path():
            sets[keys.LIVE_AREA_OPEN.format(area_id=area_id)].add(str(incident.id))
            if incident.due_at:
                due[keys.LIVE_AREA_DUE.format(area_id=area_id)][str(incident.id)] = incident.due_at.timestamp()
            if incident.warn_at:
                warn[keys.LIVE_AREA_WARN.format(area_id=area_id)][str(incident.id)] = incident.warn_at.timestamp()
    return {"open": dict(sets), "due": dict(due), "warn": dict(warn)}


def expected_day_counts(session, day) -> dict[str, dict[str, str]]:
    start = datetime.combine(day, datetime.min.time(), CITY_ZONE)
    rows = session.execute(select(IncidentEvent.action, Incident).join(Incident).where(
        IncidentEvent.at >= start, IncidentEvent.at < start + timedelta(days=1)))
    counts = defaultdict(lambda: defaultdict(int))
    for action, incident in rows:
        for area_id in incident.area_path():
            counts[keys.LIVE_AREA_DAY.format(area_id=area_id, day=day.isoformat())][action] += 1
    return {k: {a: str(n) for a, n in v.items()} for k, v in counts.items()}


def expected_feeds(session, day) -> dict[str, list[int]]:
    """Per area, the newest FEED_KEEP reports of the days whose counters are kept."""
    start = datetime.combine(day - timedelta(days=live.COUNTER_DAYS - 1), datetime.min.time(), CITY_ZONE)
    rows = session.execute(select(Incident).join(IncidentEvent).where(
        IncidentEvent.action == "report", IncidentEvent.at >= start).order_by(IncidentEvent.id.desc()))
    feeds = defaultdict(list)
    for incident in rows.scalars():
        for area_id in incident.area_path():
            key = keys.LIVE_AREA_FEED.format(area_id=area_id)
            if len(feeds[key]) < live.FEED_KEEP:
                feeds[key].append(incident.id)
    return dict(feeds)


def read_feeds(client) -> dict[str, list[int]]:
    return {key: [json.loads(entry)["id"] for entry in client.lrange(key, 0, -1)]
            for key in client.scan_iter(match=keys.LIVE_AREA_FEED.format(area_id="*"), count=1000)}


def read_day_counts(client, day) -> dict[str, dict[str, str]]:
    template = keys.LIVE_AREA_DAY.format(area_id="*", day=day.isoformat())
    found = {}
    for key in client.scan_iter(match=template, count=1000):
        found[key] = {k: v for k, v in client.hgetall(key).items() if k != "_seq"}
    return found


def assert_live_equals_sql(session, client) -> int:
    """Every open incident, area set, deadline set and today's counter; returns open count."""
    session.expire_all()
    incidents = list(session.scalars(select(Incident)))
    open_ = [i for i in incidents if i.is_open]
    assert len(open_) < len(incidents), "the data should also hold closed incidents"
    hashes = {k.rsplit(":", 1)[1] for k in client.scan_iter(
        match=keys.LIVE_INCIDENT.format(incident_id="*"), count=1000)}
    assert hashes == {str(i.id) for i in open_}
    for incident in open_:
        assert live.read_live_incident(client, incident.id) == expected_hash(incident), incident.id
        key = keys.LIVE_INCIDENT.format(incident_id=incident.id)
        assert client.object("encoding", key) in ("ziplist", "listpack")  # compact: ~0.8 kB
    expected = expected_members(open_)
    assert read_members(client, keys.LIVE_AREA_OPEN) == expected["open"]
    assert read_members(client, keys.LIVE_AREA_DUE) == expected["due"]
    assert read_members(client, keys.LIVE_AREA_WARN) == expected["warn"]
    day = NOON.astimezone(CITY_ZONE).date()
    assert read_day_counts(client, day) == expected_day_counts(session, day)
    feeds = read_feeds(client)
    assert feeds and feeds == expected_feeds(session, day)
    assert live.read_cursor(client) == session.scalar(select(IncidentEvent.id).order_by(
        IncidentEvent.id.desc()).limit(1))
    return len(open_)


def dump(client) -> dict:
    """Every key with its value (not its time to live)."""
    readers = {"string": client.get, "hash": client.hgetall, "set": client.smembers,
               "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
               "list": lambda k: client.lrange(k, 0, -1)}
    return {key: readers[client.type(key)](key) for key in client.scan_iter(count=1000)}


# ---------------------------------------------------------------- tests

def test_it_lists_every_field_the_wall_needs():
    assert WALL_FIELDS <= set(live.HASH_FIELDS)


def test_it_keeps_every_open_incident_equal_to_sql(city_session, redis):
    make_history(city_session)
    redis.set(keys.LIVE_CURSOR, 0)  # relay the whole history, event by event
    assert relay_all(city_session, redis, NOON) > 300
    driver = Driver(city_session, NOON)
    for n in range(250):
        driver.change()
        if n % 3:  # the others are left to the relay, as if the writer died after commit
            live.relay_step(city_session, redis, now=driver.now)
    relay_all(city_session, redis, driver.now)
    assert assert_live_equals_sql(city_session, redis) > 50


def test_it_counts_each_day_under_a_key_that_expires(city_session, redis):
    make_history(city_session)
    live.rebuild_live_state(city_session, redis, now=NOON)
    driver = Driver(city_session, NOON)
    for _ in range(20):
        driver.change()
    relay_all(city_session, redis, driver.now)
    day = NOON.astimezone(CITY_ZONE).date()
    day_keys = list(redis.scan_iter(match=keys.LIVE_AREA_DAY.format(area_id="*", day="*")))
    assert day_keys and all(k.endswith(day.isoformat()) for k in day_keys)
    expires = datetime.combine(day + timedelta(days=3), datetime.min.time(), CITY_ZONE)
    left = (expires - datetime.now(timezone.utc)).total_seconds()
    assert all(abs(redis.ttl(k) - left) <= 2 for k in day_keys)


def test_it_changes_nothing_when_a_relay_step_runs_twice(city_session, redis):
    make_history(city_session)
    live.rebuild_live_state(city_session, redis, now=NOON)
    driver = Driver(city_session, NOON)
    for _ in range(150):
        driver.change()
    assert relay_all(city_session, redis, driver.now) > 100
    before = dump(redis)
    assert live.relay_step(city_session, redis, now=driver.now) == 0
    assert dump(redis) == before
    cursor = live.read_cursor(redis)
    redis.set(keys.LIVE_CURSOR, cursor - 400)
    assert relay_all(city_session, redis, driver.now) == 400
    assert dump(redis) == before


def test_it_never_moves_an_incident_back_to_an_older_row(city_session, redis):
    make_history(city_session)
    live.rebuild_live_state(city_session, redis, now=NOON)
    driver = Driver(city_session, NOON)
    incident = driver.report()
    city_session.commit()
    cursor = live.read_cursor(redis)
    with live.read_connection(city_session) as conn:
        stale = live.list_events_after(conn, cursor, 10)  # the incident as REPORTED
    lifecycle.invalidate(city_session, incident, ACTOR, expected_version=incident.version,
                         reason="重复", now=driver.now)
    city_session.commit()
    assert live.relay_step(city_session, redis, now=driver.now) == 2
    assert live.read_live_incident(redis, incident.id) is None
    redis.set(keys.LIVE_CURSOR, cursor)
    assert live.apply_events(redis, cursor, stale, driver.now) == 1  # applied, but no older row
    assert live.read_live_incident(redis, incident.id) is None
    assert not redis.sismember(keys.LIVE_AREA_OPEN.format(area_id=incident.grid_id), incident.id)


def test_it_publishes_each_change_on_every_area_of_its_path(city_session, redis):
    towns = list(city_session.scalars(select(Area.id).where(Area.level == AreaLevel.TOWN)
                                      .order_by(Area.id).limit(2)))
    live.rebuild_live_state(city_session, redis, now=NOON)
    pubsub = redis.pubsub()
    pubsub.subscribe(*(keys.CHANNEL_AREA.format(area_id=t) for t in towns))
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"
    here, there = (Driver(city_session, NOON, seed=s, towns=[t]) for s, t in zip((1, 2), towns))
    for _ in range(40):
        here.change()
        there.change()
        live.relay_step(city_session, redis, now=here.now)
    by_channel = defaultdict(list)
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        by_channel[message["channel"]].append(json.loads(message["data"]))
    pubsub.close()
    events = {e.id: e for e in city_session.scalars(select(IncidentEvent))}
    for town in towns:
        notices = by_channel[keys.CHANNEL_AREA.format(area_id=town)]
        assert len(notices) == sum(1 for e in events.values() if e.incident.town_id == town)
        seqs = [n["seq"] for n in notices]
        assert seqs == sorted(set(seqs))
        for notice in notices:
            event = events[notice["seq"]]
            assert town in notice["areas"] and event.incident.town_id == town
            assert (notice["incident_id"], notice["action"], notice["state"], notice["version"]) == (
                event.incident_id, event.action, event.to_state, event.version)


def test_it_applies_each_event_once_with_relays_racing(city_session, city_engine, redis):
    make_history(city_session)
    live.rebuild_live_state(city_session, redis, now=NOON)
    city = city_session.scalar(select(Area.id).where(Area.level == AreaLevel.CITY))
    pubsub = redis.pubsub()
    pubsub.subscribe(keys.CHANNEL_AREA.format(area_id=city))
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"
    first = live.read_cursor(redis)
    factory, done, applied = make_session_factory(city_engine), threading.Event(), []

    def relay_until_done():
        while not done.is_set():
            applied.append(live.publish_committed(factory, redis, now=NOON + timedelta(hours=2)))

    relays = [threading.Thread(target=relay_until_done) for _ in range(4)]
    for relay in relays:
        relay.start()
    driver = Driver(city_session, NOON)
    for _ in range(150):
        driver.change()
    done.set()
    for relay in relays:
        relay.join()
    relay_all(city_session, redis, driver.now)
    assert sum(applied) > 100  # most by the racing relays
    seqs = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        seqs.append(json.loads(message["data"])["seq"])
    pubsub.close()
    events = list(city_session.scalars(select(IncidentEvent.id).where(IncidentEvent.id > first)
                                       .order_by(IncidentEvent.id)))
    assert seqs == events
    assert assert_live_equals_sql(city_session, redis) > 50


def test_it_returns_zero_and_keeps_the_commit_when_redis_is_down(city_session, city_engine,
                                                                tmp_path, caplog):
    server = EmbeddedRedis(tmp_path / "redis", persist=False).start()
    client = make_client(server)
    live.rebuild_live_state(city_session, client, now=NOON)
    server.stop()
    incident = Driver(city_session, NOON).report()
    city_session.commit()
    with caplog.at_level(logging.WARNING, logger="workers.live"):
        assert live.publish_committed(make_session_factory(city_engine), client, now=NOON) == 0
    assert "relay will catch up" in caplog.text
    with make_session_factory(city_engine)() as other:
        assert other.get(Incident, incident.id).state == State.REPORTED
    server = EmbeddedRedis(tmp_path / "redis", port=server.port, persist=False).start()
    try:
        live.relay_step(city_session, client, now=NOON)  # no cursor: rebuilt from SQL
        assert live.read_live_incident(client, incident.id)["state"] == "REPORTED"
    finally:
        server.stop()


@pytest.mark.parametrize("persist", [False, True], ids=["memory-only", "append-only-file"])
def test_it_equals_sql_after_redis_is_killed_in_a_burst(city_session, city_engine, tmp_path,
                                                       persist):
    make_history(city_session)
    server = EmbeddedRedis(tmp_path / "redis", persist=persist).start()
    client, factory = make_client(server), make_session_factory(city_engine)
    live.rebuild_live_state(city_session, client, now=NOON)
    driver, written, killed = Driver(city_session, NOON), threading.Semaphore(0), threading.Event()

    def kill_after_100_writes():
        for _ in range(100):
            written.acquire()
        server.process.kill()  # SIGKILL, most likely in the middle of a publish
        killed.set()

    killer = threading.Thread(target=kill_after_100_writes)
    killer.start()
    applied = []
    try:
        for n in range(300):
            driver.change()
            written.release()
            applied.append(live.publish_committed(factory, client, now=driver.now))
            if n == 200:
                assert killed.wait(10)
                server.process.wait()
                server = EmbeddedRedis(tmp_path / "redis", port=server.port, persist=persist).start()
                # Back from its append-only file, or empty (the next relay step rebuilds).
                assert (live.read_cursor(client) is not None) == persist
        killer.join()
        assert applied[-1] > 0 and 0 in applied[100:201]
        relay_all(city_session, client, driver.now)
        assert assert_live_equals_sql(city_session, client) > 50
    finally:
        server.stop()


def test_it_rebuilds_the_state_it_builds_incrementally(city_session, redis):
    make_history(city_session)
    live.rebuild_live_state(city_session, redis, now=NOON)
    driver = Driver(city_session, NOON)
    for _ in range(200):
        driver.change()
        live.relay_step(city_session, redis, now=driver.now)
    incremental = dump_state(redis)
    assert len(incremental) > 1000
    redis.flushdb()
    summary = live.rebuild_live_state(city_session, redis, now=driver.now)
    assert summary["cursor"] == live.read_cursor(redis)
    assert dump_state(redis) == incremental
    live.rebuild_live_state(city_session, redis, now=driver.now)  # over itself, not flushed
    assert dump_state(redis) == incremental


def dump_state(client) -> dict:
    """All keys but tombstones, which each writer leaves for the last hour of its own clock."""
    gone = keys.LIVE_GONE.format(incident_id="")
    return {k: v for k, v in dump(client).items() if not k.startswith(gone)}


def test_it_rebuilds_when_redis_lost_its_cursor(city_session, redis):
    make_history(city_session)
    redis.set(keys.LIVE_INCIDENT.format(incident_id=999999), "stale")
    assert live.relay_step(city_session, redis, now=NOON) == 0
    assert redis.get(keys.LIVE_INCIDENT.format(incident_id=999999)) is None
    assert assert_live_equals_sql(city_session, redis) > 50


def test_it_refuses_a_second_rebuild_while_one_runs(city_session, redis):
    redis.set(keys.LIVE_REBUILD_LOCK, "someone else")
    with pytest.raises(live.RebuildRunning):
        live.rebuild_live_state(city_session, redis, now=NOON)
    assert live.relay_step(city_session, redis, now=NOON) == 0  # waits for that rebuild
    assert live.read_cursor(redis) is None


def test_it_reads_an_area_snapshot(city_session, redis):
    make_history(city_session)
    driver = Driver(city_session, NOON)
    for _ in range(60):
        driver.change()
    live.rebuild_live_state(city_session, redis, now=driver.now)
    town = city_session.get(Incident, driver.open_ids[0]).town_id
    snapshot = live.read_area_snapshot(redis, town, now=driver.now, limit=None)
    open_ = list(city_session.scalars(select(Incident).where(
        Incident.town_id == town, Incident.state.not_in(live.CLOSED_STATES))))
    assert snapshot["seq"] == live.read_cursor(redis)
    assert snapshot["counts"]["open"] == len(open_) == len(snapshot["incidents"])
    assert snapshot["counts"]["overdue"] == sum(1 for i in open_ if i.due_at and i.due_at <= driver.now)
    assert snapshot["counts"]["amber"] == sum(
        1 for i in open_ if i.warn_at and i.warn_at <= driver.now < i.due_at)
    reports = city_session.scalars(select(IncidentEvent).join(Incident).where(
        Incident.town_id == town, IncidentEvent.action == "report"))
    assert snapshot["today"]["report"] == len(list(reports))
    deadlines = [i["due_at"] for i in snapshot["incidents"] if i["due_at"]]
    assert deadlines == sorted(deadlines)
    red = {i.id for i in open_ if i.due_breached or (i.due_at and i.due_at <= driver.now)}
    assert {i["id"] for i in snapshot["incidents"] if i["band"] == "red"} == red
    first = live.read_area_snapshot(redis, town, now=driver.now, limit=5)["incidents"]
    assert [i["id"] for i in first] == [i["id"] for i in snapshot["incidents"][:5]]


# ---------------------------------------------------------------- holes in the event ids

def make_hole(session, engine) -> int:
    """An event id that will never be committed: a rolled-back insert on PostgreSQL; an
    explicitly numbered event past it on SQLite (which never leaves holes by itself)."""
    last = session.scalar(select(IncidentEvent.id).order_by(IncidentEvent.id.desc()).limit(1)) or 0
    driver = Driver(session, NOON)
    if engine.dialect.name == "sqlite":
        incident = driver.report()
        session.flush()
        session.execute(IncidentEvent.__table__.update().where(
            IncidentEvent.incident_id == incident.id).values(id=last + 2))
        session.commit()
        return last + 1
    with make_session_factory(engine)() as other:
        Driver(other, NOON).report()
        other.rollback()
    driver.report()
    session.commit()
    return last + 1


def test_it_passes_a_hole_that_can_never_fill(city_session, city_engine, redis):
    live.rebuild_live_state(city_session, redis, now=NOON)
    missing = make_hole(city_session, city_engine)
    assert live.relay_step(city_session, redis, now=NOON) == 1
    assert live.read_cursor(redis) == missing + 1
    assert redis.hlen(keys.LIVE_GAPS) == 0


def test_it_waits_for_an_event_still_being_written(city_session, city_engine, redis, caplog):
    if city_engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers: ids always commit in order")
    live.rebuild_live_state(city_session, redis, now=NOON)
    with make_session_factory(city_engine)() as slow:
        early = Driver(slow, NOON).report()  # takes an id, commits later
        late = Driver(city_session, NOON, seed=2).report()
        city_session.commit()
        assert late.id > early.id
        for _ in range(3):
            assert live.relay_step(city_session, redis, now=NOON) == 0
        assert live.read_live_incident(redis, late.id) is None
        slow.commit()
    assert live.relay_step(city_session, redis, now=NOON) == 2
    assert live.read_live_incident(redis, early.id)["id"] == early.id
    assert live.read_live_incident(redis, late.id)["id"] == late.id
    assert redis.hlen(keys.LIVE_GAPS) == 0


def test_it_gives_up_on_a_writer_stuck_past_the_limit(city_session, city_engine, redis, caplog):
    if city_engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers: ids always commit in order")
    live.rebuild_live_state(city_session, redis, now=NOON)
    with make_session_factory(city_engine)() as stuck:
        Driver(stuck, NOON).report()
        late = Driver(city_session, NOON, seed=2).report()
        city_session.commit()
        assert live.relay_step(city_session, redis, now=NOON) == 0
        with caplog.at_level(logging.ERROR, logger="workers.live"):
            later = NOON + live.GAP_MAX_WAIT + timedelta(seconds=1)
            assert live.relay_step(city_session, redis, now=later) == 1
        assert "still not committed" in caplog.text
        assert live.read_live_incident(redis, late.id)["id"] == late.id
        stuck.rollback()
