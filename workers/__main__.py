"""Command line: python -m workers [run | up | rebuild | relay].

run      (the default) N RQ workers and one scheduler candidate, until Ctrl-C or SIGTERM.
         Start it on as many machines as you like against one Redis and one database:
         exactly one scheduler leads (workers/schedule.py), every worker takes jobs.
up       the same, first starting the private redis-server of the embedded default
         when REDIS_URL is unset (what ./run.sh runs).
rebuild  rebuild the whole live state in Redis from SQL.
relay    apply committed events to the live state in order, until Ctrl-C.
metrics backfill --days N   compute the daily metrics of the N whole days before today.
wall     compute the wall's slow figures once and write them to Redis (the scheduler does
         it every minute, and at once when it starts).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

import redis
from rq import Worker
from rq.worker_pool import ForkProcess, WorkerPool
from sqlalchemy import inspect

from models import settings
from models.db import make_engine
from workers import live, metrics, wall
from workers.connections import get_redis, get_session_factory
from workers.embedded_redis import EmbeddedRedis
from workers.schedule import QUEUES, run_scheduler

RELAY_IDLE = 0.5  # seconds the relay loop rests when it has caught up
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _interrupt(*_):
    raise KeyboardInterrupt


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda *_: stop.set())
    return stop


# ---------------------------------------------------------------- run

# The pool forks its workers and the scheduler with SIGINT/SIGTERM blocked, so a signal that
# arrives while they start waits until each process has its handlers (nothing is orphaned).

def _scheduler_process(connection_class, pool_class, pool_kwargs) -> None:
    pool = redis.ConnectionPool(connection_class=pool_class, **pool_kwargs)
    connection = connection_class(connection_pool=pool)
    run_scheduler(connection)  # unblocks the stop signals once its handlers are in place


class GridWorker(Worker):
    """RQ's forking worker that takes stop signals once started (see Pool). Until RQ's own
    handlers are in, a stop only sets the flag its work loop checks, so it quits through its
    normal teardown (a handler raising there could be lost, or escape the loop)."""

    def bootstrap(self, *args, **kwargs):
        super().bootstrap(*args, **kwargs)
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._note_stop)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def _note_stop(self, signum, frame):
        self._stop_requested = True


class Pool(WorkerPool):
    """RQ's WorkerPool (forks the workers, each with RQ's scheduler for retries, respawns dead
    ones, stops them all on SIGINT/SIGTERM) plus one scheduler candidate, watched the same way."""

    scheduler = None

    def start_workers(self, *args, **kwargs):
        super().start_workers(*args, **kwargs)
        self.start_scheduler()

    def _install_signal_handlers(self):
        super()._install_signal_handlers()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def start_scheduler(self) -> None:
        self.scheduler = ForkProcess(target=_scheduler_process, name="Scheduler candidate",
                                     args=(self._connection_class, self._pool_class, self._pool_kwargs))
        self.scheduler.start()

    def check_workers(self, respawn: bool = True) -> None:
        super().check_workers(respawn)
        if respawn and self.status != self.Status.STOPPED and not self.scheduler.is_alive():
            self.log.warning("the scheduler candidate died; starting another")
            self.start_scheduler()

    def stop_workers(self) -> None:
        super().stop_workers()
        if self.scheduler is not None and self.scheduler.is_alive():
            os.kill(self.scheduler.pid, signal.SIGINT)

    def all_workers_have_stopped(self) -> bool:
        stopped = super().all_workers_have_stopped()
        return stopped and not (self.scheduler is not None and self.scheduler.is_alive())


def _warn_without_schema() -> None:
    engine = make_engine(settings.database_url())
    try:
        if not inspect(engine).has_table("incident"):
            print("warning: the database has no schema yet; run `python -m seed ensure`",
                  file=sys.stderr, flush=True)
    finally:
        engine.dispose()


def serve(redis_url: str, workers: int, *, verbose: bool = False) -> int:
    """Run the workers and the scheduler candidate until SIGINT/SIGTERM."""
    _warn_without_schema()
    pool = Pool(list(QUEUES), connection=get_redis(redis_url, decode=False), num_workers=workers,
                worker_class=GridWorker)
    print(f"{workers} worker(s) on queues {', '.join(QUEUES)} and a scheduler candidate; "
          f"Redis {redis_url}; database {settings.database_url()}", flush=True)
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # until the pool's handlers are in
    pool.start(logging_level="INFO" if verbose else "WARNING")
    return 0


# ---------------------------------------------------------------- up

def _already_running(state_file) -> str | None:
    if not state_file.exists():
        return None
    url = json.loads(state_file.read_text())["url"]
    try:
        redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return url


def up(workers: int, *, verbose: bool = False) -> int:
    if settings.env_str("REDIS_URL"):
        print(f"using Redis at {settings.redis_url()}", flush=True)
        return serve(settings.redis_url(), workers, verbose=verbose)
    state_file = settings.embedded_redis_state()
    running = _already_running(state_file)
    if running:
        print(f"the embedded Redis is already running at {running}", file=sys.stderr)
        return 1
    server = EmbeddedRedis(state_file.parent)
    try:
        server.start()
        state_file.write_text(json.dumps({"url": server.url, "pid": os.getpid()}))
        print(f"embedded Redis running at {server.url} (data in {state_file.parent})", flush=True)
        print("press Ctrl-C to stop", flush=True)
        return serve(server.url, workers, verbose=verbose)
    finally:
        state_file.unlink(missing_ok=True)
        server.stop()


# ---------------------------------------------------------------- live state

def rebuild() -> int:
    with get_session_factory()() as session:
        summary = live.rebuild_live_state(session, get_redis())
    print(json.dumps(summary, default=str), flush=True)
    return 0


def relay_once(session_factory, client) -> bool:
    """One relay step; True while more events may be waiting."""
    try:
        with session_factory() as session:
            return live.relay_step(session, client) > 0
    except redis.RedisError as exc:
        print(f"relay: Redis unavailable ({exc}); retrying", file=sys.stderr, flush=True)
        return False


def relay() -> int:
    stop = _stop_on_signals()
    session_factory, client = get_session_factory(), get_redis()
    print("relaying committed events to the live state; press Ctrl-C to stop", flush=True)
    while not stop.is_set():
        if not relay_once(session_factory, client):
            stop.wait(RELAY_IDLE)
    return 0


def wall_once() -> int:
    with get_session_factory()() as session:
        summary = wall.refresh_wall_figures(session, get_redis())
    print(json.dumps(summary), flush=True)
    return 0


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_worker_options(parser, default=2)
    sub = parser.add_subparsers(dest="command")
    for name, text in (("run", "the workers and the scheduler (the default)"),
                       ("up", "the embedded Redis when REDIS_URL is unset, then `run`")):
        _add_worker_options(sub.add_parser(name, help=text), default=argparse.SUPPRESS)
    sub.add_parser("rebuild", help="rebuild the live state in Redis from SQL")
    sub.add_parser("relay", help="apply committed events to the live state until Ctrl-C")
    sub.add_parser("wall", help="compute the wall's slow figures once, into Redis")
    metrics_cmd = sub.add_parser("metrics", help="daily metrics: `metrics backfill --days N`")
    metrics_cmd.add_argument("action", choices=["backfill"])
    metrics_cmd.add_argument("--days", type=int, required=True, help="whole days before today")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    signal.signal(signal.SIGTERM, _interrupt)
    command = args.command or "run"
    try:
        if command == "up":
            return up(args.workers, verbose=args.verbose)
        if command == "run":
            return serve(settings.redis_url(), args.workers, verbose=args.verbose)
    except KeyboardInterrupt:  # stopped while starting up, before anything was left running
        return 0
    if command == "metrics":
        return metrics.main_backfill(args.days)
    return {"rebuild": rebuild, "relay": relay, "wall": wall_once}[command]()


def _add_worker_options(parser: argparse.ArgumentParser, *, default) -> None:
    parser.add_argument("--workers", type=int, default=default,
                        help="worker processes on this machine (default 2)")
    parser.add_argument("--verbose", action="store_true",
                        default=False if default is not argparse.SUPPRESS else default,
                        help="log every job")


if __name__ == "__main__":
    sys.exit(main())
