"""Bringing live state up to date after commits (workers.live.publish_committed).

Two modes (config LIVE_PUBLISH):
- "sync": the request that committed runs publish_committed before it answers.
- "background" (the default): the request wakes one publisher thread per process and
  answers at once. The thread gathers commits for LIVE_PUBLISH_DELAY seconds (0.03 s by
  default, a seventh of the wall's 200 ms budget from answer to screen), then runs
  publish_committed, which applies every event committed so far in
  id order; it repeats while commits keep waking it. Under load that is one relay pass
  for many commits instead of one each (and fewer relays racing for the same cursor),
  which roughly halves the server's CPU per report at 500 reports/s; a change reaches
  Redis about the delay after its commit.
Either way only committed events are published, and anything a dying process leaves
unpublished is applied by the next relay pass (the outbox rule, workers/live.py).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class LivePublisher:
    def __init__(self, publish: Callable[[], int] | None, mode: str = "background",
                 delay: float = 0.1):
        if mode not in ("sync", "background"):
            raise ValueError(f"LIVE_PUBLISH must be sync or background, got {mode!r}")
        self.publish, self.mode, self.delay = publish, mode, delay
        self._wake, self._idle = threading.Event(), threading.Event()
        self._idle.set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._requested = self._started = 0  # commits announced / covered by a started run

    def after_commit(self) -> None:
        if self.publish is None:
            return
        if self.mode == "sync":
            self.publish_once()
            return
        with self._lock:
            self._requested += 1
            self._idle.clear()
            self._wake.set()
        self._ensure_thread()

    def publish_once(self) -> None:
        try:
            self.publish()
        except Exception:  # the commit stands; the relay job catches up
            log.exception("publishing committed changes failed")

    def step(self) -> bool:
        """One round of the thread: wait to be woken, publish. Returns True (run forever)."""
        self._wake.wait()
        time.sleep(self.delay)  # let more commits arrive: one pass applies them all
        with self._lock:
            self._wake.clear()
            self._started = self._requested
        self.publish_once()
        with self._lock:
            if self._started == self._requested:
                self._idle.set()
        return True

    def wait_idle(self, timeout: float = 10) -> bool:
        """Whether everything committed so far has been published within `timeout`."""
        return self._idle.wait(timeout)

    def _ensure_thread(self) -> None:
        # After a fork the thread object is copied but the thread is not: start a new one.
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="live-publisher", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while self.step():
            pass
