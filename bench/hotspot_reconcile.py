"""Benchmark: hotspot reconcile over 1M incidents of history.

The 90-day history the metrics benchmark caches (~270,000 incidents, realistic lifecycle,
/tmp/grid-bench-metrics) is copied and topped up to TOTAL incidents with clones of its own
rows (areas, items, everything) re-reported at random times in the 28 days before its end,
inserted with Core executemany; the result is cached under /tmp/grid-bench-hotspots.
Reconcile scans the incidents reported in the last 29 days (the 7-day buckets plus the
4-week baseline), so most of the million is in its scan. Only `reconcile` is timed, against
an embedded Redis. Run: .venv/bin/python -m bench.hotspot_reconcile [--runs 3]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, insert, select

import models
from bench.common import describe_machine, figure, median
from bench.metrics_backfill import END, get_database
from models.db import make_engine, make_session_factory
from models.incident import Incident
from workers import hotspots
from workers.embedded_redis import EmbeddedRedis

TOTAL = 1_000_000
CACHE = Path("/tmp/grid-bench-hotspots")
BATCH = 20_000


def get_bench_database() -> str:
    path = CACHE / f"hotspots-{TOTAL}.sqlite3"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        shutil.copy(get_database(90, 3000).removeprefix("sqlite:///"), partial)
        _top_up(f"sqlite:///{partial}")
        partial.rename(path)
    return f"sqlite:///{path}"


def _top_up(url: str) -> None:
    started, engine = time.perf_counter(), make_engine(url)
    table = Incident.__table__
    with engine.begin() as conn:
        rows = [dict(row._mapping) for row in conn.execute(select(table))]
        missing, rng = TOTAL - len(rows), np.random.default_rng(3)
        offsets = rng.uniform(0, 28 * 86400, missing)
        picks = rng.integers(0, len(rows), missing)
        for start in range(0, missing, BATCH):
            batch = [_clone(rows[picks[i]], END - timedelta(seconds=float(offsets[i])))
                     for i in range(start, min(start + BATCH, missing))]
            conn.execute(insert(table), batch)
    engine.dispose()
    print(f"  topped up to {TOTAL} incidents in {time.perf_counter() - started:.0f} s", flush=True)


def _clone(row: dict, reported_at) -> dict:
    clone = dict(row, reported_at=reported_at, external_id=None)
    del clone["id"]
    return clone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    engine = make_engine(get_bench_database())
    models.Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        total = session.scalar(select(func.count()).select_from(Incident))
    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="hot-redis-")), persist=False).start()
    redis = __import__("redis").Redis.from_url(server.url, decode_responses=True)
    times, summary = [], {}
    try:
        for _ in range(args.runs):
            with factory() as session:
                started = time.perf_counter()
                summary = hotspots.reconcile(session, redis, now=END)
                times.append(time.perf_counter() - started)
        towns = hotspots.read_hotspots(redis, "town", now=END)
    finally:
        server.stop()
        engine.dispose()
    print(f"  {total} incidents; last run: {summary}; {len(towns)} towns read back")
    print(f"  runs: {', '.join(f'{t:.1f} s' for t in times)}")
    print(figure("hotspot reconcile, 1M incidents", median(times), "s", "reported"))


if __name__ == "__main__":
    main()
