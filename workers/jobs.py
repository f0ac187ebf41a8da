"""RQ job entry points. Each takes no arguments and gets its connections from
workers.connections, so the scheduler enqueues them by name and any worker can run them.

RQ delivers at least once: every job here may run twice, late or concurrently, and stays
correct because the work it calls claims conditionally. The lock around each job only saves
effort: when a tick finds the previous run of the same job still going, it returns at once
instead of queueing up behind it (and the scheduler drops queued runs that waited too long).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from redis.exceptions import LockError, RedisError

from workers import keys, live, metrics, sla
from workers.connections import get_redis, get_session_factory

T = TypeVar("T")
# A run holds its job's lock for this long and renews it every third of that while it runs,
# so a crashed run (its work horse killed, its machine gone) blocks the next tick only briefly.
SHORT_LOCK = 5
LONG_LOCK = 600


def run_alone(name: str, work: Callable[[], T], *, timeout: int = SHORT_LOCK) -> T | None:
    """Run `work` unless another run of job `name` holds its lock (then return None)."""
    lock = get_redis().lock(keys.JOB_LOCK.format(name=name), timeout=timeout, blocking=False,
                            thread_local=False)
    if not lock.acquire():
        return None
    done = threading.Event()
    keeper = threading.Thread(target=keep_lock, args=(lock, done, timeout / 3), daemon=True)
    keeper.start()
    try:
        return work()
    finally:
        done.set()
        keeper.join()
        try:
            lock.release()
        except LockError:  # it expired (Redis was away); someone else may hold it now
            pass


def keep_lock(lock, done: threading.Event, every: float) -> None:
    while not done.wait(every):
        try:
            lock.reacquire()
        except LockError:
            return
        except RedisError:  # Redis away: the lock may lapse, which only risks a wasted overlap
            continue


def sweep_breaches_job() -> int | None:
    return run_alone("sweep-breaches",
                     lambda: sla.sweep_breaches(get_session_factory(), get_redis()))


def sweep_amber_job() -> int | None:
    return run_alone("sweep-amber", lambda: sla.sweep_amber(get_session_factory(), get_redis()))


def relay_job() -> int | None:
    """Catch the live state up with committed events a writer did not publish."""
    return run_alone("relay", lambda: live.publish_committed(get_session_factory(), get_redis()))


def refresh_metrics_job() -> int | None:
    return run_alone("metrics-today", metrics.job_refresh_today, timeout=LONG_LOCK)


def close_yesterday_job() -> int | None:
    return run_alone("metrics-yesterday", metrics.job_close_yesterday, timeout=LONG_LOCK)
