"""SLA timers on real RQ: breaches and amber exactly once, racing processes, the scheduler.

Due incidents are made by the lifecycle at a fixed time in the past and swept with a later
`now`; jobs that read the real clock get incidents reported three hours ago.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
import redis as redis_lib
from croniter import croniter
from rq import Queue, SimpleWorker, Worker
from rq.cron import CronScheduler, get_cron_job_history_key, get_cron_job_ids
from rq.job import JobStatus
from sqlalchemy import func, select

from models import Area, Breach, Incident, IncidentEvent, Item
from models import lifecycle
from models.actor import Actor
from models.db import make_engine, make_session_factory
from models.enums import AreaLevel, Channel, Priority, Stage
from models.sla import CITY_ZONE
from models.types import utcnow
from tests.conftest import REPO
from workers import connections, jobs, keys, schedule, sla

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)  # a Monday, 09:00 in Shanghai
REPORTER = Actor.system("test-intake")
SWEEP_JOB = f"{jobs.sweep_breaches_job.__module__}.{jobs.sweep_breaches_job.__name__}"
FORK = multiprocessing.get_context("fork")


# ---------------------------------------------------------------- helpers and fixtures

def make_incidents(session, count: int, *, at: datetime, skip: int = 0) -> list[int]:
    """`count` incidents reported at `at` in different grids; their accept clocks run."""
    grids = session.scalars(select(Area.id).where(Area.level == AreaLevel.GRID)
                            .order_by(Area.id).offset(skip).limit(count)).all()
    item = session.scalars(select(Item).where(Item.default_priority == Priority.NORMAL)
                           .order_by(Item.code)).first()
    incidents = [lifecycle.report(session, REPORTER, item_id=item.id, area_id=grid,
                                  description="路灯不亮", channel=Channel.HOTLINE, now=at)
                 for grid in grids]
    session.commit()
    return [i.id for i in incidents]


def get_tally(factory, ids) -> dict[str, int]:
    with factory() as session:
        rows = session.execute(select(Incident).where(Incident.id.in_(ids))).scalars().all()
        return {
            "breach_count": sum(r.breach_count for r in rows),
            "escalation_count": sum(r.escalation_count for r in rows),
            "breaches": session.scalar(select(func.count()).select_from(Breach)
                                       .where(Breach.incident_id.in_(ids))),
            "events": session.scalar(select(func.count()).select_from(IncidentEvent)
                                     .where(IncidentEvent.incident_id.in_(ids),
                                            IncidentEvent.action == "breach")),
            "at_town": sum(r.level == AreaLevel.TOWN for r in rows),
        }


def once_each(n: int) -> dict[str, int]:
    return {"breach_count": n, "escalation_count": n, "breaches": n, "events": n, "at_town": n}


@pytest.fixture
def factory(city_engine):
    return make_session_factory(city_engine)


@pytest.fixture
def rq_redis(redis, redis_server):
    """RQ's connection to the same (flushed) Redis; RQ needs undecoded replies."""
    client = redis_lib.Redis.from_url(redis_server.url, socket_timeout=10)
    yield client
    client.close()


@pytest.fixture
def job_env(monkeypatch, city_engine, redis_server):
    """What workers.connections reads in jobs (and in forked work horses)."""
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


# ---------------------------------------------------------------- breach, exactly once

def test_it_breaches_a_due_incident_once_and_escalates_it_one_level(factory, city_session, redis):
    [incident_id] = make_incidents(city_session, 1, at=T0)
    due = city_session.get(Incident, incident_id).due_at
    assert sla.sweep_breaches(factory, redis, now=due + timedelta(seconds=1)) == 1
    assert sla.sweep_breaches(factory, redis, now=due + timedelta(seconds=2)) == 0
    assert get_tally(factory, [incident_id]) == once_each(1)
    with factory() as session:
        incident = session.get(Incident, incident_id)
        [breach] = incident.breaches
        event = session.scalars(select(IncidentEvent).where(IncidentEvent.action == "breach")).one()
    assert (breach.stage, breach.deadline) == (Stage.ACCEPT, due)
    assert incident.due_breached and incident.due_at == due
    assert (event.actor_name, event.version) == ("sla-timer", incident.version)
    assert event.payload["from_level"] == "village" and event.payload["to_level"] == "town"
    assert event.payload["overdue_seconds"] == 1


def test_it_changes_nothing_when_the_job_runs_twice(factory, city_session, job_env, rq_redis):
    ids = make_incidents(city_session, 3, at=utcnow() - timedelta(hours=3))
    queue = Queue(schedule.QUEUE_SLA, connection=rq_redis)
    first, second = queue.enqueue(jobs.sweep_breaches_job), queue.enqueue(jobs.sweep_breaches_job)
    SimpleWorker([queue], connection=rq_redis).work(burst=True)
    assert [first.get_status(), second.get_status()] == [JobStatus.FINISHED] * 2
    assert [first.return_value(), second.return_value()] == [3, 0]
    assert get_tally(factory, ids) == once_each(3)


def test_it_skips_a_tick_while_the_previous_sweep_still_runs(factory, city_session, job_env, redis):
    ids = make_incidents(city_session, 1, at=utcnow() - timedelta(hours=3))
    running = redis.lock(keys.JOB_LOCK.format(name="sweep-breaches"), timeout=30)
    assert running.acquire(blocking=False)
    assert jobs.sweep_breaches_job() is None
    assert get_tally(factory, ids)["breaches"] == 0
    running.release()
    assert jobs.sweep_breaches_job() == 1


def test_it_leaves_what_is_not_due_or_already_breached_alone(factory, city_session, redis):
    ids = make_incidents(city_session, 2, at=T0)
    due = city_session.get(Incident, ids[0]).due_at
    assert sla.sweep_breaches(factory, redis, now=due - timedelta(seconds=1)) == 0
    assert get_tally(factory, ids)["breaches"] == 0
    assert sla.sweep_breaches(factory, redis, now=due) == 2  # due exactly at the deadline
    city_session.expire_all()
    versions = [city_session.get(Incident, i).version for i in ids]
    assert sla.sweep_breaches(factory, redis, now=due + timedelta(days=2)) == 0
    city_session.expire_all()
    assert [city_session.get(Incident, i).version for i in ids] == versions
    assert get_tally(factory, ids) == once_each(2)


def test_it_skips_an_incident_that_moved_on_after_the_sweep_read_it(factory, city_session):
    [incident_id] = make_incidents(city_session, 1, at=T0)
    incident = city_session.get(Incident, incident_id)
    now = incident.due_at + timedelta(minutes=5)
    [claim] = sla.list_due(city_session, now, 10)
    lifecycle.accept(city_session, incident, Actor.system("shift"), expected_version=incident.version,
                     now=now - timedelta(minutes=1))  # accepted late, but before the sweep's claim
    city_session.commit()
    with factory() as session:  # the version it read is gone
        assert sla.claim_breach(session, claim, now) is False
    stale_stage = sla.Claim(incident_id, incident.version, claim.stage, claim.deadline)
    with factory() as session:  # the right version, but the accept stage is over
        assert sla.claim_breach(session, stale_stage, now) is False
    assert get_tally(factory, [incident_id])["breaches"] == 0
    with factory() as session:
        assert session.get(Incident, incident_id).version == incident.version


def test_it_examines_only_what_is_due_not_what_is_open(factory, city_session, redis):
    open_ids = make_incidents(city_session, 300, at=T0)
    breached = make_incidents(city_session, 2, at=T0 - timedelta(hours=5), skip=300)
    sla.sweep_breaches(factory, redis, now=T0)
    due = make_incidents(city_session, 5, at=T0 - timedelta(hours=3), skip=302)
    now = T0 + timedelta(minutes=1)
    assert [c.incident_id for c in sla.list_due(city_session, now, 500)] == due
    page = sla.step_breaches(factory, now=now, limit=500)
    assert (page.examined, page.breached) == (5, 5)
    assert sla.step_breaches(factory, now=now, limit=500).examined == 0
    assert get_tally(factory, open_ids)["breaches"] == 0
    assert get_tally(factory, breached + due) == once_each(7)


def _sweep_in_own_process(url, redis_url, now, start, results):
    factory = make_session_factory(make_engine(url))
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True, socket_timeout=10)
    start.wait(timeout=30)
    results.put(sla.sweep_breaches(factory, client, now=now, limit=10))


def test_it_records_one_breach_each_when_three_workers_race(factory, city_session, city_engine,
                                                            redis, redis_server):
    ids = make_incidents(city_session, 50, at=T0)
    now = T0 + timedelta(hours=3)
    url = city_engine.url.render_as_string(hide_password=False)
    start, results = FORK.Barrier(3), FORK.Queue()
    racers = [FORK.Process(target=_sweep_in_own_process,
                           args=(url, redis_server.url, now, start, results)) for _ in range(3)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=120)
    assert [racer.exitcode for racer in racers] == [0, 0, 0]
    counts = [results.get(timeout=5) for _ in racers]
    assert sum(counts) == 50, counts
    assert get_tally(factory, ids) == once_each(50)


def test_it_runs_the_sweep_in_a_forking_worker(factory, city_session, job_env, rq_redis):
    ids = make_incidents(city_session, 2, at=utcnow() - timedelta(hours=3))
    queue = Queue(schedule.QUEUE_SLA, connection=rq_redis)
    job = queue.enqueue(jobs.sweep_breaches_job)
    worker = Worker([queue], connection=rq_redis)
    worker.work(burst=True)
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    assert job.return_value() == 2
    # It ran in a forked work horse: this process never opened the job's database.
    assert (os.getpid(), f"db:{job_env['DATABASE_URL']}") not in connections._cache
    assert get_tally(factory, ids) == once_each(2)


# ---------------------------------------------------------------- amber

def test_it_announces_amber_once_per_deadline(factory, city_session, redis):
    [incident_id] = make_incidents(city_session, 1, at=T0)
    incident = city_session.get(Incident, incident_id)
    listener = redis.pubsub()
    listener.subscribe(keys.CHANNEL_AMBER.format(area_id=incident.town_id))
    assert listener.get_message(timeout=2)["type"] == "subscribe"
    warn, due = incident.warn_at, incident.due_at
    assert warn == T0 + (due - T0) * 0.75
    assert sla.sweep_amber(factory, redis, now=warn - timedelta(seconds=1)) == 0
    assert sla.sweep_amber(factory, redis, now=warn + timedelta(seconds=1)) == 1
    assert sla.sweep_amber(factory, redis, now=warn + timedelta(seconds=6)) == 0
    redis.delete(keys.AMBER_CURSOR)  # a lost cursor re-reads the window; the claim still holds
    assert sla.sweep_amber(factory, redis, now=warn + timedelta(seconds=11)) == 0
    lifecycle.accept(city_session, incident, Actor.system("shift"),
                     expected_version=incident.version, now=warn + timedelta(minutes=1))
    city_session.commit()  # the dispatch stage brings a new deadline and its own amber band
    assert sla.sweep_amber(factory, redis, now=incident.warn_at + timedelta(seconds=1)) == 1
    messages = [json.loads(m["data"]) for m in iter(lambda: listener.get_message(timeout=0.5), None)]
    assert [(m["incident_id"], m["stage"], m["kind"]) for m in messages] == [
        (incident_id, "accept", "amber"), (incident_id, "dispatch", "amber")]
    assert messages[0]["deadline"] == due.isoformat()
    listener.close()


def test_it_announces_nothing_for_a_deadline_already_passed(factory, city_session, redis):
    [incident_id] = make_incidents(city_session, 1, at=T0)
    due = city_session.get(Incident, incident_id).due_at
    assert sla.sweep_amber(factory, redis, now=due + timedelta(seconds=1)) == 0


# ---------------------------------------------------------------- the schedule and the scheduler

def test_it_sweeps_breaches_every_second_and_closes_yesterday_after_midnight_in_the_city():
    by_func = {entry.func: entry for entry in schedule.SCHEDULE}
    assert by_func[jobs.sweep_breaches_job].interval == 1
    assert by_func[jobs.relay_job].interval == 1
    assert by_func[jobs.sweep_amber_job].interval == 5
    assert by_func[jobs.refresh_metrics_job].interval == 300
    cron = by_func[jobs.close_yesterday_job].cron
    runs = croniter(cron, datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc))
    first, second = (runs.get_next(datetime).astimezone(CITY_ZONE) for _ in range(2))
    assert (first.hour, first.minute, second - first) == (0, 10, timedelta(days=1))


def test_it_runs_every_scheduled_job(city_session, job_env, rq_redis):
    queues = {name: Queue(name, connection=rq_redis) for name in schedule.QUEUES}
    enqueued = [queues[entry.queue].enqueue(entry.func, **entry.options)
                for entry in schedule.SCHEDULE]
    SimpleWorker(list(queues.values()), connection=rq_redis).work(burst=True)
    failed = {job.func_name: job.latest_result().exc_string for job in enqueued
              if job.get_status() != JobStatus.FINISHED}
    assert failed == {}


def _candidate(redis_url):
    run_scheduler_connection = redis_lib.Redis.from_url(redis_url, socket_timeout=10)
    schedule.run_scheduler(run_scheduler_connection, lock_ttl=2, poll=0.2)


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_it_runs_one_scheduler_among_many_candidates_and_fails_over(rq_redis, redis_server):
    candidates = [FORK.Process(target=_candidate, args=(redis_server.url,)) for _ in range(3)]
    for candidate in candidates:
        candidate.start()
    try:
        leader = _wait_for(lambda: rq_redis.get(keys.SCHEDULER_LOCK)).decode()
        time.sleep(3.5)
        assert [s.name for s in CronScheduler.all(rq_redis)] == [leader]
        times = [t for _, t in rq_redis.zrange(get_cron_job_history_key(SWEEP_JOB), 0, -1,
                                               withscores=True)]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert len(times) >= 3 and min(gaps) > 0.8, gaps  # one tick a second, not one per candidate
        pid = int(leader.split(":")[1])
        os.kill(pid, signal.SIGKILL)  # no goodbye: the lock has to expire
        successor = _wait_for(lambda: (rq_redis.get(keys.SCHEDULER_LOCK) or b"").decode() not in
                              ("", leader) and rq_redis.get(keys.SCHEDULER_LOCK).decode())
        before = len(get_cron_job_ids(SWEEP_JOB, rq_redis))
        _wait_for(lambda: len(get_cron_job_ids(SWEEP_JOB, rq_redis)) > before + 1)
        assert successor.split(":")[1] != str(pid)
    finally:
        for candidate in candidates:
            if candidate.is_alive():
                os.kill(candidate.pid, signal.SIGTERM)
            candidate.join(timeout=10)
    assert rq_redis.get(keys.SCHEDULER_LOCK) is None  # the leader let go when it stopped


def test_it_starts_workers_and_scheduler_breaches_and_stops_cleanly(factory, city_session, job_env,
                                                                   rq_redis):
    ids = make_incidents(city_session, 2, at=utcnow() - timedelta(hours=3))
    proc = subprocess.Popen([sys.executable, "-m", "workers", "--workers", "2"], cwd=REPO,
                            env={**os.environ, **job_env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: get_tally(factory, ids)["breaches"] == 2 or proc.poll() is not None,
                  timeout=60)
        assert proc.poll() is None, proc.stderr.read()
        assert len(Worker.all(connection=rq_redis)) == 2
        assert rq_redis.get(keys.SCHEDULER_LOCK) is not None
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert get_tally(factory, ids) == once_each(2)
    assert Worker.all(connection=rq_redis) == []
    assert rq_redis.get(keys.SCHEDULER_LOCK) is None
    assert "2 worker(s)" in out
