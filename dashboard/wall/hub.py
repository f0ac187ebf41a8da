"""One Redis listener per dashboard process, fanning change notices out to the open walls.

The relay publishes a small JSON notice on the channel of every area on an incident's path
(`workers.live`), and the SLA sweeper publishes amber notices the same way. A wall is a
browser holding a server-sent-events stream (`dashboard.wall.stream`) for one area. Each
stream is a `Subscription` here; the hub's single thread reads Redis pub/sub and hands each
notice to the subscriptions of its area. Nothing is read per browser, so a hundred walls
cost one Redis connection.

Coalescing. A subscription does not forward notices one by one: it gathers what arrives
while the browser is being served, and the stream sends at most one message per `window`
seconds (leading edge: a lone notice goes out at once; a burst goes out as one summary at
the end of the window). The summary names how many notices of each action arrived, the new
reports (for the feed) and the latest sequence number, so the browser refreshes once.

Outages. When the Redis connection drops, or a ping goes unanswered, every subscription is
told the feed is down (the walls show their banner); the hub reconnects every `retry`
seconds, and once back tells every subscription to re-read its snapshot, since notices
published meanwhile are lost (pub/sub keeps nothing).

Pattern subscription (`grid:live:*`, `grid:amber:*`) rather than one channel per open
wall: a process then needs no SUBSCRIBE/UNSUBSCRIBE traffic as walls come and go, at the
cost of reading every notice; at 50 reports/s that is some 400 small messages a second.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry

from workers import keys

log = logging.getLogger(__name__)

PATTERNS = (keys.CHANNEL_AREA.format(area_id="*"), keys.CHANNEL_AMBER.format(area_id="*"))
FEED_LIMIT = 20  # new reports carried by one summary; the feed shows fewer
INCIDENT_LIMIT = 200  # changed incident ids carried by one summary; more means "many"


def area_of(channel: str) -> int | None:
    tail = channel.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


@dataclass
class Pending:
    """What arrived for one subscription since it last sent."""

    count: int = 0
    seq: int | None = None
    actions: Counter = field(default_factory=Counter)
    reports: list[int] = field(default_factory=list)
    incidents: set[int] = field(default_factory=set)
    status: dict | None = None

    def add(self, notice: dict) -> None:
        self.count += 1
        action = notice.get("action") or notice.get("kind") or "change"
        self.actions[action] += 1
        if isinstance(notice.get("seq"), int):
            self.seq = max(self.seq or 0, notice["seq"])
        incident = notice.get("incident_id")
        if isinstance(incident, int):
            if action == "report" and len(self.reports) < FEED_LIMIT:
                self.reports.append(incident)
            if len(self.incidents) < INCIDENT_LIMIT:
                self.incidents.add(incident)

    def absorb(self, newer: Pending) -> None:
        """Add a later batch's notices to this one."""
        self.count += newer.count
        self.actions.update(newer.actions)
        self.seq = max((s for s in (self.seq, newer.seq) if s is not None), default=None)
        self.reports.extend(newer.reports[:FEED_LIMIT - len(self.reports)])
        self.incidents.update(list(newer.incidents)[:INCIDENT_LIMIT - len(self.incidents)])

    def summary(self) -> dict:
        return {"n": self.count, "seq": self.seq, "actions": dict(self.actions),
                "reports": self.reports, "incidents": sorted(self.incidents),
                "many": self.count > INCIDENT_LIMIT}


class Subscription:
    """One open wall: notices for its area, gathered until its stream sends them."""

    def __init__(self, area_id: int):
        self.area_id = area_id
        self._ready = threading.Condition()
        self._pending = Pending()

    def push(self, notice: dict) -> None:
        with self._ready:
            self._pending.add(notice)
            self._ready.notify()

    def push_status(self, status: dict) -> None:
        with self._ready:
            self._pending.status = status
            self._ready.notify()

    def take(self, timeout: float) -> Pending | None:
        """Wait up to `timeout` for something to send; take all of it, or None."""
        with self._ready:
            if not self._pending.count and self._pending.status is None:
                self._ready.wait(timeout)
            if not self._pending.count and self._pending.status is None:
                return None
            taken, self._pending = self._pending, Pending()
            return taken


class LiveHub:
    """The process's listener. Started on the first subscription; `stop` ends it."""

    def __init__(self, redis_url: str, *, socket_timeout: float = 5.0, retry: float = 1.0,
                 ping_every: float = 2.0):
        self.redis_url = redis_url
        self.socket_timeout = socket_timeout
        self.retry = retry
        self.ping_every = ping_every
        self.connected = False
        self.received = 0  # notices read since start (for tests and /wall/health)
        self._subs: dict[int, set[Subscription]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._echo_channel = keys.CHANNEL_AREA.format(area_id=f"hub-{uuid.uuid4().hex[:12]}")

    # -------------------------------------------------------------- subscriptions

    def subscribe(self, area_id: int) -> Subscription:
        sub = Subscription(area_id)
        with self._lock:
            self._subs.setdefault(area_id, set()).add(sub)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wall-hub", daemon=True)
                self._thread.start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.area_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.area_id]

    def count_subscriptions(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subs.values())

    def _all(self) -> list[Subscription]:
        with self._lock:
            return [sub for subs in self._subs.values() for sub in subs]

    def _for_area(self, area_id: int) -> list[Subscription]:
        with self._lock:
            return list(self._subs.get(area_id, ()))

    # -------------------------------------------------------------- the listener

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _set_connected(self, connected: bool) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        status = {"live": connected, "resync": connected}
        for sub in self._all():
            sub.push_status(status)
        if not self._stop.is_set():
            log.log(logging.INFO if connected else logging.WARNING,
                    "wall hub %s Redis", "connected to" if connected else "lost")

    def _run(self) -> None:
        while not self._stop.is_set():
            client = redis_lib.Redis.from_url(
                self.redis_url, socket_timeout=self.socket_timeout,
                socket_connect_timeout=self.socket_timeout, decode_responses=True,
                retry=Retry(NoBackoff(), 0))  # a silent reconnect would hide lost notices
            try:
                self._listen(client)
            except (redis_lib.ConnectionError, redis_lib.TimeoutError, OSError) as exc:
                log.debug("wall hub: %s", exc)
            finally:
                self._set_connected(False)
                client.close()
            self._stop.wait(self.retry)

    def _listen(self, client: redis_lib.Redis) -> None:
        with client.pubsub(ignore_subscribe_messages=True) as pubsub:
            pubsub.psubscribe(*PATTERNS)
            self._set_connected(True)
            answered = time.monotonic()
            pinged = answered
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=min(1.0, self.ping_every))
                now = time.monotonic()
                if message is not None and message["type"] == "pmessage":
                    answered = now
                    self._dispatch(message["channel"], message["data"])
                if now - pinged >= self.ping_every:
                    # A notice to ourselves through the whole path (PUBLISH, then the
                    # subscription): a silent network is caught as surely as a closed socket.
                    client.publish(self._echo_channel, "echo")
                    pinged = now
                if now - answered > 2 * self.ping_every + self.socket_timeout:
                    raise redis_lib.TimeoutError("our own echo did not come back")

    def _dispatch(self, channel: str, data: str) -> None:
        area_id = area_of(channel)
        subs = self._for_area(area_id) if area_id is not None else []
        self.received += 1
        if not subs:
            return
        try:
            notice = json.loads(data)
        except ValueError:
            log.warning("wall hub: a notice on %s is not JSON", channel)
            return
        for sub in subs:
            sub.push(notice)
