"""A small time-limited cache, one per app (thread-safe enough: a race only repeats a load)."""
from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    def __init__(self, seconds: float, max_size: int = 10_000):
        self.seconds, self.max_size = seconds, max_size
        self._entries: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = load()
        if self.seconds > 0:
            if len(self._entries) >= self.max_size:
                self._entries.clear()
            self._entries[key] = (now + self.seconds, value)
        return value
