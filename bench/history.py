"""Benchmark: `seed history` at Dongguan's volume.

Target (issue 2): 90 days, about 270,000 incidents, in 10 minutes or less on a 2-core machine.
Run: .venv/bin/python -m bench.history [--days 90] [--runs 1]
Each run builds a fresh city in a temporary SQLite file, then times only the history.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import models
from bench.common import describe_machine, figure, median
from models.db import make_engine, make_session_factory
from seed.city import build_city
from seed.history import generate_history

END = datetime(2026, 11, 1, 16, 0, tzinfo=timezone.utc)


def one_run(days: int, per_day: int, folder: Path) -> tuple[float, int, int]:
    engine = make_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
    models.Base.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        build_city(session, progress=False)
        session.commit()
        started = time.perf_counter()
        result = generate_history(session, days=days, per_day=per_day, end=END, progress=False)
        elapsed = time.perf_counter() - started
        events = session.query(models.IncidentEvent).count()
    engine.dispose()
    return elapsed, result["incidents"], events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    print("bench/history.py —", describe_machine())
    results = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            results.append(one_run(args.days, args.per_day, Path(folder)))
        print(f"  run {run + 1}: {results[-1][0]:.1f} s, {results[-1][1]} incidents, {results[-1][2]} events")
    seconds = median([r[0] for r in results])
    incidents = median([r[1] for r in results])
    scaled = seconds * 90 / args.days
    print(f"median of {args.runs} run(s), {args.days} days at {args.per_day}/day:")
    print(figure("history wall time", seconds, "s", f"90 days in <= 600 s (scaled to 90 days: {scaled:.0f} s)"))
    print(figure("incidents per second", incidents / seconds, "incidents/s", ">= 450 (270,000 in 600 s)"))
    print(figure("events per second", median([r[2] for r in results]) / seconds, "events/s", "reported"))


if __name__ == "__main__":
    main()
