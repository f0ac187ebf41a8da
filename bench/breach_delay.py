"""Benchmark: how long after its deadline a breach becomes visible, with 10k and 100k open.

Target (issue 3): p99 of 2 s or less after the deadline.
Run: .venv/bin/python -m bench.breach_delay [--sizes 10000 100000] [--due 200] [--spread 30]

For each size: a copy of the reference city in a temporary SQLite file holding N open
incidents (deadlines hours away, plus 5% long overdue and already breached, which the due_at
index range still passes over), the live state rebuilt into a private Redis, then DUE more
incidents whose accept deadlines fall during the next SPREAD seconds. The real system runs:
`python -m workers --workers 2` (the scheduler ticking the breach sweep every second, two
forking RQ workers). A poller reads the breach table every 20 ms and a subscriber listens on
the city's live channel; each delay is (seen - deadline).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import redis as redis_lib
from sqlalchemy import func, select

import models
from bench.common import describe_machine, figure
from models import Area, Breach, Incident, IncidentEvent, Item
from models import lifecycle
from models.actor import Actor
from models.db import make_engine, make_session_factory
from models.enums import AreaLevel, Channel, Stage
from models.sla import get_policy
from models.types import utcnow
from seed.city import build_city
from workers import keys, live, sla
from workers.embedded_redis import EmbeddedRedis

REPO = Path(__file__).resolve().parents[1]
INTAKE = Actor.system("bench-intake")
TIMER = Actor.system("sla-timer")
OVERDUE_SHARE = 0.05
POLL = 0.02
BATCH = 2000


class World:
    """The city's grids and items, read once."""

    def __init__(self, session):
        self.grids = session.scalars(select(Area.id).where(Area.level == AreaLevel.GRID)).all()
        self.items = session.scalars(select(Item)).all()
        self.city_id = session.scalar(select(Area.id).where(Area.level == AreaLevel.CITY)
                                      .order_by(Area.id))


def report(session, world: World, rng: random.Random, at: datetime, item=None) -> Incident:
    item = item or rng.choice(world.items)
    return lifecycle.report(session, INTAKE, item_id=item.id, area_id=rng.choice(world.grids),
                            description="井盖缺失，存在安全隐患", channel=Channel.HOTLINE, now=at,
                            flush=False)


def fill_open(factory, world: World, size: int, rng: random.Random) -> float:
    """`size` open incidents: most with deadlines ahead, a few breached long ago."""
    started, now = time.perf_counter(), utcnow()
    overdue = int(size * OVERDUE_SHARE)
    with factory() as session:
        for n in range(size):
            if n < overdue:
                incident = report(session, world, rng, now - timedelta(hours=6))
                session.flush()
                lifecycle.breach(session, incident, TIMER, expected_version=incident.version,
                                 stage=incident.due_stage, deadline=incident.due_at,
                                 now=now - timedelta(hours=1), flush=False)
            else:
                report(session, world, rng, now)
            if n % BATCH == BATCH - 1:
                session.commit()
                session.expunge_all()
        session.commit()
    return time.perf_counter() - started


def plant_due(factory, world: World, count: int, first: datetime, spread: float,
              rng: random.Random) -> dict[int, datetime]:
    """`count` incidents whose accept deadlines fall between `first` and `first + spread`."""
    deadlines = {}
    with factory() as session:
        policy = get_policy(session)
        for _ in range(count):
            item = rng.choice(world.items)
            limit = policy.resolve(Stage.ACCEPT, item.default_priority, item.id, item.category_id)
            due = first + timedelta(seconds=rng.uniform(0, spread))
            incident = report(session, world, rng, due - timedelta(minutes=limit.minutes), item)
            session.flush()
            assert incident.due_at == due, "accept limits are calendar time"
            deadlines[incident.id] = due
        session.commit()
    return deadlines


class Watcher:
    """Notes when each breach shows in SQL (polled) and on the city's live channel."""

    def __init__(self, factory, client: redis_lib.Redis, city_id: int):
        self.factory, self.client = factory, client
        self.in_sql: dict[int, float] = {}
        self.on_channel: dict[int, float] = {}
        self.stop = threading.Event()
        self.listener = client.pubsub()
        self.listener.subscribe(keys.CHANNEL_AREA.format(area_id=city_id))
        self.threads = [threading.Thread(target=self.poll_sql, daemon=True),
                        threading.Thread(target=self.listen, daemon=True)]
        with factory() as session:
            self.last = session.scalar(select(func.max(Breach.id))) or 0
        for thread in self.threads:
            thread.start()

    def poll_sql(self):
        with self.factory() as session:
            while not self.stop.is_set():
                rows = session.execute(select(Breach.id, Breach.incident_id)
                                       .where(Breach.id > self.last)).all()
                session.rollback()
                seen = time.time()
                for breach_id, incident_id in rows:
                    self.in_sql.setdefault(incident_id, seen)
                    self.last = max(self.last, breach_id)
                self.stop.wait(POLL)

    def listen(self):
        while not self.stop.is_set():
            message = self.listener.get_message(timeout=0.2)
            if message and message["type"] == "message":
                notice = json.loads(message["data"])
                if notice.get("action") == "breach":
                    self.on_channel.setdefault(notice["incident_id"], time.time())

    def close(self):
        self.stop.set()
        for thread in self.threads:
            thread.join()
        self.listener.close()


def start_workers(db_url: str, redis_url: str, workers: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url}
    return subprocess.Popen([sys.executable, "-m", "workers", "--workers", str(workers)], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def delays(seen: dict[int, float], deadlines: dict[int, datetime]) -> np.ndarray:
    return np.array([seen[i] - deadlines[i].timestamp() for i in deadlines if i in seen])


def time_queries(factory, now: datetime) -> tuple[float, float]:
    """Milliseconds for the breach sweep's and the amber sweep's SELECT, best of 5."""
    with factory() as session:
        due = min(_timed(lambda: sla.list_due(session, now, 500)) for _ in range(5))
        amber = min(_timed(lambda: sla.list_turned_amber(session, now - timedelta(seconds=5),
                                                         now, 1000)) for _ in range(5))
    return due, amber


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def one_size(size: int, args, base: Path, folder: Path, client: redis_lib.Redis, redis_url: str):
    path = folder / f"open-{size}.sqlite3"
    shutil.copy(base, path)
    db_url = f"sqlite:///{path}"
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    rng = random.Random(size)
    with factory() as session:
        world = World(session)
    filled = fill_open(factory, world, size, rng)
    client.flushdb()
    with factory() as session:
        rebuilt = live.rebuild_live_state(session, client)
    first = utcnow() + timedelta(seconds=args.lead)
    deadlines = plant_due(factory, world, args.due, first, args.spread, rng)
    live.publish_committed(factory, client)
    watcher = Watcher(factory, client, world.city_id)
    log = folder / f"workers-{size}.log"
    proc = start_workers(db_url, redis_url, args.workers, log)
    try:
        finished = wait_until(lambda: len(watcher.in_sql) >= len(deadlines),
                              args.lead + args.spread + 60)
        wait_until(lambda: len(watcher.on_channel) >= len(deadlines), 5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        watcher.close()
    with factory() as session:
        extra = session.scalar(select(func.count()).select_from(Breach)
                               .where(Breach.incident_id.not_in(list(deadlines)))) - int(size * OVERDUE_SHARE)
        events = session.execute(select(IncidentEvent.incident_id, IncidentEvent.at)
                                 .where(IncidentEvent.action == "breach",
                                        IncidentEvent.incident_id.in_(list(deadlines)))).all()
    detected = np.array([(at - deadlines[i]).total_seconds() for i, at in events])
    queries = time_queries(factory, utcnow())
    engine.dispose()
    return {"size": size, "filled": filled, "rebuilt": rebuilt["seconds"], "finished": finished,
            "sql": delays(watcher.in_sql, deadlines), "live": delays(watcher.on_channel, deadlines),
            "detected": detected, "due": len(deadlines), "extra": extra, "queries": queries,
            "log": log, "returncode": proc.returncode}


def report_size(result) -> None:
    size = result["size"]
    print(f"{size:,} open incidents (filled in {result['filled']:.0f} s, live state rebuilt in "
          f"{result['rebuilt']:.1f} s); {result['due']} deadlines falling due during the run:")
    for name, values in (("visible in SQL", result["sql"]), ("notice on the live channel", result["live"])):
        if len(values) == 0:
            print(f"  {name}: nothing seen")
            continue
        p50, p99 = np.percentile(values, [50, 99])
        print(figure(f"{name}: p50", p50, "s", "reported"))
        print(figure(f"{name}: p99", p99, "s", "<= 2 s"))
        print(figure(f"{name}: max", values.max(), "s", f"reported ({len(values)} seen)"))
    print(figure("sweep clock at the claim (event.at): p99", np.percentile(result["detected"], 99),
                 "s", "reported"))
    due_ms, amber_ms = result["queries"]
    print(figure("breach sweep SELECT (nothing due)", due_ms, "ms", "reported"))
    print(figure("amber sweep SELECT (5 s window)", amber_ms, "ms", "reported"))
    print(f"  breaches recorded twice or wrongly: {result['extra']}; workers exited with "
          f"{result['returncode']}; all seen: {result['finished']} (log: {result['log']})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--due", type=int, default=200)
    parser.add_argument("--spread", type=float, default=30.0, help="seconds the deadlines span")
    parser.add_argument("--lead", type=float, default=12.0, help="seconds before the first one")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    print("bench/breach_delay.py —", describe_machine())
    folder = Path(tempfile.mkdtemp(prefix="grid-bench-breach-"))
    server = EmbeddedRedis(folder / "redis", persist=False).start()
    client = redis_lib.Redis.from_url(server.url, decode_responses=True, socket_timeout=30)
    try:
        base = folder / "city.sqlite3"
        engine = make_engine(f"sqlite:///{base}")
        models.Base.metadata.create_all(engine)
        with make_session_factory(engine)() as session:
            build_city(session, progress=False)
            session.commit()
        engine.dispose()
        for size in args.sizes:
            report_size(one_size(size, args, base, folder, client, server.url))
    finally:
        client.close()
        server.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
