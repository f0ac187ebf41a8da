"""Benchmark: intake end to end through the HTTP API.

Target (issue 3): 8 concurrent clients, >= 500 incidents/s on SQLite on a 2-core machine;
PostgreSQL and batch intake reported.
Run: .venv/bin/python -m bench.intake [--seconds 20] [--runs 3] [--database-url postgresql+psycopg://…]

Starts the real server (gunicorn -w 2 --threads 4, as in production; or Flask's threaded
server with --server werkzeug) against a fresh seeded SQLite city and a private real
redis-server, then 8 client threads, each on its own keep-alive connection, POST reports
for the given time. Half the reports name a grid code, half a point that the server places
in its grid. Live state is kept as in production (the background publisher runs
workers.live.publish_committed after commits). A PostgreSQL database given with
--database-url is used as it is (the city is built if it is empty); reports are added to it.

Besides incidents/s it prints the CPU time spent per incident by the server processes,
the redis-server and the client threads (PostgreSQL's own processes are not counted), and
the rate that CPU time would allow if both cores did nothing else: other work on the
machine (see the load average on each line) lowers the measured rate but not that one.
"""
from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import redis as redis_lib
from sqlalchemy import select

import models
from bench.common import describe_machine, figure
from models import Area, Item
from models.db import make_engine, make_session_factory
from models.enums import AreaLevel
from models.token import create_token
from workers.embedded_redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 8


# ---------------------------------------------------------------- set-up

def prepare_database(url: str) -> tuple[str, list[tuple[str, float, float]], list[str]]:
    """Schema and reference city (built only if the database is empty), a new token, the
    grids (code, lon, lat) and the item codes."""
    engine = make_engine(url)
    models.Base.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        if session.scalar(select(Area.id).limit(1)) is None:
            from seed.city import build_city

            build_city(session, progress=False)
        token = create_token(session, "bench")
        session.commit()
        grids = [tuple(r) for r in session.execute(select(Area.code, Area.centroid_lon, Area.centroid_lat)
                                                   .where(Area.level == AreaLevel.GRID))]
        items = list(session.scalars(select(Item.code)))
    engine.dispose()
    return token, grids, items


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(kind: str, port: int, env: dict, workers: int, threads: int) -> subprocess.Popen:
    if kind == "gunicorn":
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "dashboard.app:create_server()"]
    else:
        cmd = [sys.executable, "-m", "dashboard", "--port", str(port)]
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env})


def wait_ready(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


# ---------------------------------------------------------------- load

class Reports:
    """Report bodies for one client thread; client_refs are unique across runs."""

    def __init__(self, grids, items, seed: int):
        self.grids, self.items, self.rng = grids, items, random.Random(seed)
        self.prefix, self.count = f"{time.time_ns():x}-{seed}", 0

    def one(self) -> dict:
        code, lon, lat = self.rng.choice(self.grids)
        self.count += 1
        body = {"item_code": self.rng.choice(self.items), "description": "楼道堆放杂物，堵塞消防通道",
                "channel": "grid_worker", "client_ref": f"{self.prefix}-{self.count}"}
        return {**body, "grid_code": code} if self.rng.random() < 0.5 else {**body, "lon": lon, "lat": lat}


def client_loop(port: int, token: str, reports: Reports, batch: int, until: float, counts: list, i: int):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    path = "/api/v1/incidents:batch" if batch else "/api/v1/incidents"
    ok = failed = 0
    while time.monotonic() < until:
        body = {"items": [reports.one() for _ in range(batch)]} if batch else reports.one()
        conn.request("POST", path, json.dumps(body), headers)
        response = conn.getresponse()
        data = response.read()
        if response.status == 201 or (response.status == 200 and batch):
            ok += json.loads(data)["created"] if batch else 1
        else:
            failed += 1
            if failed == 1:
                print(f"    a failed request: {response.status} {data[:300]!r}", file=sys.stderr)
    counts[i] = (ok, failed)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children that are still running."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            children = [int(c) for c in fh.read().split()]
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(c) for c in children)


@dataclass
class Load:
    rate: float      # incidents per second
    failed: int
    cpu_ms: dict     # CPU milliseconds per incident: server, redis, clients

    def capacity(self) -> float:
        """Incidents/s if the machine's cores did nothing else: cores / CPU per incident."""
        return os.cpu_count() * 1000 / sum(self.cpu_ms.values())


def measure(port: int, token: str, grids, items, seconds: float, batch: int = 0,
            pids: dict | None = None) -> Load:
    counts: list = [(0, 0)] * CLIENTS
    pids = pids or {}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    client_cpu = time.process_time()
    started = time.monotonic()
    until = started + seconds
    threads = [threading.Thread(target=client_loop, args=(port, token, Reports(grids, items, i), batch,
                                                          until, counts, i)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    done = max(sum(c[0] for c in counts), 1)
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    cpu["clients"] = time.process_time() - client_cpu
    return Load(done / elapsed, sum(c[1] for c in counts), {k: v * 1000 / done for k, v in cpu.items()})


# ---------------------------------------------------------------- runs

def bench_database(url: str, redis: EmbeddedRedis, args) -> dict[str, Load]:
    token, grids, items = prepare_database(url)
    with redis_lib.Redis.from_url(redis.url) as client:
        client.flushdb()  # live state belongs to one database: start each one afresh
    port = free_port()
    server = start_server(args.server, port, {"DATABASE_URL": url, "REDIS_URL": redis.url},
                          args.workers, args.threads)
    pids = {"server": server.pid, "redis": redis.process.pid}
    try:
        wait_ready(port, server)
        measure(port, token, grids, items, 2)  # warm-up: caches and grid locator in every worker
        return {"single": run_series(port, token, grids, items, args, 0, pids),
                "batch": run_series(port, token, grids, items, args, args.batch, pids)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_series(port, token, grids, items, args, batch: int, pids: dict) -> Load:
    loads = []
    for run in range(args.runs):
        load = measure(port, token, grids, items, args.seconds, batch, pids)
        loads.append(load)
        label = f"batches of {batch}" if batch else "single reports"
        cpu = ", ".join(f"{k} {v:.2f}" for k, v in load.cpu_ms.items())
        print(f"  run {run + 1} ({label}): {load.rate:.0f} incidents/s, {load.failed} failed requests; "
              f"CPU ms per incident: {cpu}; load average {os.getloadavg()[0]:.2f}", flush=True)
    return sorted(loads, key=lambda load: load.rate)[len(loads) // 2]


def live_publishing() -> str:
    try:
        import workers.live  # noqa: F401
    except ImportError:
        return "off (workers.live missing)"
    return "on (background publisher, workers.live.publish_committed)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", help="also run against this PostgreSQL database")
    args = parser.parse_args()
    if args.server == "gunicorn" and importlib.util.find_spec("gunicorn") is None:
        parser.error("gunicorn is not installed; pip install gunicorn, or use --server werkzeug")
    print("bench/intake.py —", describe_machine())
    shape = f" -w {args.workers} --threads {args.threads}" if args.server == "gunicorn" else ""
    print(f"server: {args.server}{shape}; {CLIENTS} client threads; live publishing {live_publishing()}")
    with tempfile.TemporaryDirectory() as folder:
        redis_server = EmbeddedRedis(Path(folder) / "redis", persist=False).start()
        try:
            targets = {"SQLite": f"sqlite:///{Path(folder) / 'bench.sqlite3'}"}
            if args.database_url:
                targets["PostgreSQL"] = args.database_url
            results = {}
            for name, url in targets.items():
                print(f"{name}:", flush=True)
                results[name] = bench_database(url, redis_server, args)
        finally:
            redis_server.stop()
    print(f"median of {args.runs} run(s) of {args.seconds:.0f} s:")
    for name, loads in results.items():
        target = ">= 500 incidents/s" if name == "SQLite" else "reported"
        single, batch = loads["single"], loads["batch"]
        print(figure(f"{name}: single reports, {CLIENTS} clients", single.rate, "incidents/s", target))
        print(figure(f"{name}: batches of {args.batch}, {CLIENTS} clients", batch.rate, "incidents/s", "reported"))
        print(figure(f"{name}: single, CPU per incident (all processes)", sum(single.cpu_ms.values()), "ms",
                     f"capacity with both cores free: {single.capacity():.0f} incidents/s"))


if __name__ == "__main__":
    main()
