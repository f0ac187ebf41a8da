"""What runs how often, and the one scheduler that enqueues it.

The timer is RQ's own CronScheduler (RQ >= 2.4; `interval` is in whole seconds, so the
breach sweep can tick every second). RQ 2.12's CronScheduler takes no lock: two of them on
one Redis enqueue everything twice. `python -m workers` may run on many machines, so each
one starts a scheduler *candidate*; only the candidate holding the scheduler lock in Redis
runs the CronScheduler loop, refreshing the lock on every heartbeat (at least once a second
with this schedule). The others stand by and take over when the lock expires (LOCK_TTL
after the leader died). A leader that finds its lock gone stops enqueuing. The jobs are
idempotent, so even an overlap at a hand-over would only cost effort.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis import Redis
from redis.exceptions import LockError
from rq import Retry
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

from models.sla import CITY_ZONE
from workers import hotspots, jobs, keys, wall

QUEUE_SLA = "sla"          # short, every-second jobs: breaches, relay, amber
QUEUE_METRICS = "metrics"  # longer rollups
QUEUES = (QUEUE_SLA, QUEUE_METRICS)  # workers take from the first non-empty, in this order

LOCK_TTL = 10       # seconds a dead leader keeps the lock; a standby takes over after that
STANDBY_POLL = 1.0  # how often a standby candidate tries the lock


def daily_in_city(hour: int, minute: int) -> str:
    """A daily cron string for a time of day in Asia/Shanghai. RQ evaluates cron strings in
    UTC; the city's offset is fixed (+08:00, no daylight saving), so the shift is exact."""
    offset = CITY_ZONE.utcoffset(datetime(2000, 1, 1)) // timedelta(minutes=1)
    utc = (hour * 60 + minute - offset) % (24 * 60)
    return f"{utc % 60} {utc // 60} * * *"


@dataclass(frozen=True)
class Entry:
    func: Callable
    queue: str
    interval: int | None = None  # seconds
    cron: str | None = None      # UTC
    timeout: int = 60            # seconds a run may take before RQ kills it
    ttl: int | None = None       # seconds a queued run may wait before it is dropped
    options: dict = field(default_factory=dict)


SCHEDULE: tuple[Entry, ...] = (
    # A breach must be visible within 2 s of its deadline: sweep every second. A run that
    # waited in the queue for more than a few seconds is dropped; the next tick covers it.
    # A run that takes too long is killed; every claim it committed stands, the next continues.
    Entry(jobs.sweep_breaches_job, QUEUE_SLA, interval=1, timeout=30, ttl=5),
    Entry(jobs.relay_job, QUEUE_SLA, interval=1, timeout=60, ttl=5),
    Entry(jobs.sweep_amber_job, QUEUE_SLA, interval=5, timeout=60, ttl=10),
    Entry(jobs.refresh_metrics_job, QUEUE_METRICS, interval=300, timeout=600, ttl=300),
    Entry(hotspots.job_hotspots_step, QUEUE_SLA, interval=5, timeout=60, ttl=10),
    Entry(hotspots.job_hotspots_reconcile, QUEUE_METRICS, interval=300, timeout=600, ttl=300),
    # The wall's slow figures (rates, last week, categories, trend): every minute; the
    # scheduler enqueues interval jobs at once when it starts, so a fresh `up` has them at once.
    Entry(wall.job_wall_figures, QUEUE_METRICS, interval=60, timeout=120, ttl=60),
    # Yesterday is closed once, just after midnight in the city; retried if the run fails
    # (RQ's enqueue takes `retry` from the job's kwargs; the retries need a worker started
    # with_scheduler, which `python -m workers` does).
    Entry(jobs.close_yesterday_job, QUEUE_METRICS, cron=daily_in_city(0, 10), timeout=3600,
          options={"retry": Retry(max=3, interval=[60, 300, 900])}),
)


class LeaderCronScheduler(CronScheduler):
    """RQ's CronScheduler that runs only while it holds the one scheduler lock.

    Signals are left to the candidate loop (run_scheduler): it sets `stop`, and the
    scheduler notices on its next heartbeat (within a second with this schedule)."""

    def __init__(self, connection: Redis, *, stop: threading.Event, lock_ttl: int = LOCK_TTL,
                 **kwargs):
        super().__init__(connection, **kwargs)
        self.stop = stop
        self.lock = connection.lock(keys.SCHEDULER_LOCK, timeout=lock_ttl, blocking=False,
                                    thread_local=False)

    def lead(self) -> bool:
        """Take the lock and run the schedule until stopped or the lock is lost.
        Returns False at once when another candidate leads."""
        if not self.lock.acquire(token=self.name):
            return False
        self.start()
        return True

    def _install_signal_handlers(self):
        pass  # the candidate loop owns the signals

    def heartbeat(self) -> None:
        if self.stop.is_set():
            raise StopRequested()
        super().heartbeat()
        try:
            self.lock.reacquire()
        except LockError:
            self.log.warning("scheduler %s lost the scheduler lock; standing by", self.name)
            raise StopRequested() from None

    def register_death(self, pipeline=None) -> None:
        super().register_death(pipeline)
        try:
            self.lock.release()
        except LockError:
            pass


def build_scheduler(connection: Redis, *, stop: threading.Event, lock_ttl: int = LOCK_TTL,
                    logging_level: str | int = logging.WARNING) -> LeaderCronScheduler:
    scheduler = LeaderCronScheduler(connection, stop=stop, lock_ttl=lock_ttl,
                                    logging_level=logging_level)
    for entry in SCHEDULE:
        scheduler.register(entry.func, entry.queue, kwargs=dict(entry.options) or None,
                           interval=entry.interval, cron=entry.cron, job_timeout=entry.timeout,
                           ttl=entry.ttl, result_ttl=60, failure_ttl=24 * 3600)
    return scheduler


def run_scheduler(connection: Redis, *, lock_ttl: int = LOCK_TTL, poll: float = STANDBY_POLL,
                  logging_level: str | int = logging.WARNING) -> None:
    """A scheduler candidate: lead while holding the lock, stand by otherwise, until SIGINT
    or SIGTERM. Call it in the main thread of its own process (it installs signal handlers;
    it also unblocks them, for a process forked with them blocked)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    while not stop.is_set():
        scheduler = build_scheduler(connection, stop=stop, lock_ttl=lock_ttl,
                                    logging_level=logging_level)
        if not scheduler.lead():
            stop.wait(poll)
