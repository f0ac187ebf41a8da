"""`python -m seed simulate`: drive the live system through the HTTP API.

Reports arrive as a Poisson process at `rate` per second in random grids; each incident
then walks report → accept → dispatch → acknowledge → start → resolve → close through
POST /api/v1/incidents/{id}/actions/{action}, with a scheduler (a heap of next steps by
due time) spacing the steps at realistic delays compressed by `speed` (60: a minute per
second). Some are returned by the department and re-dispatched, some held (parked or
postponed), some sent back for rework, disputes close with a mediation outcome, and a
few are deliberately left waiting past their running deadline so the SLA worker breaches
them (the simulator never breaches anything itself).

The database is read once, read-only, for the grids, items and routing (the API takes
department ids). Every step names the version the previous response returned; a 409 is
logged, the incident re-read and the step retried once.
"""
from __future__ import annotations

import heapq
import json
import logging
import os
import secrets
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Area, Category, Item
from models.enums import AreaLevel, State
from models.routing import RoutingTable
from seed.history import CATEGORY_MIX
from seed.texts import DescriptionSource

log = logging.getLogger(__name__)

DISPUTE_CATEGORY = 9
STATUS_EVERY = 5.0  # seconds between status lines
# Delay before each step, in simulated minutes (uniform between the bounds).
DELAYS = {"accept": (2, 15), "dispatch": (5, 30), "return": (5, 20), "acknowledge": (2, 10),
          "start": (5, 30), "hold": (10, 60), "resume": (30, 180), "resolve": (30, 240),
          "rework": (10, 60), "close": (10, 60)}
REASONS = {"return": "非本部门职责范围", "rework": "现场核查未整改到位",
           "park": "等待当事人配合，暂时挂账", "postpone": "需协调多部门，申请延期"}


@dataclass
class Rates:
    dispute: float = 0.08    # share of reports filed under category 9 (disputes)
    returned: float = 0.05
    rework: float = 0.05
    parked: float = 0.02
    postponed: float = 0.03
    slow: float = 0.03       # left waiting past the running deadline before the next step
    mediated: float = 0.9
    max_slow_wait: float = 900.0  # real seconds; a longer deadline is not waited for


@dataclass
class World:
    """What the simulator reads from the database once: grids, items, routing."""

    grids: list[SimpleNamespace]
    items_by_category: dict[int, list[SimpleNamespace]]
    routing: RoutingTable


def load_world(session: Session) -> World:
    areas = {a.id: a for a in session.scalars(select(Area))}
    categories = {c.id: c.code for c in session.scalars(select(Category))}
    grids = [SimpleNamespace(code=a.code, city_id=a.city_id, town_id=a.town_id, village_id=a.village_id,
                             place=areas[a.village_id].name_zh if a.village_id else a.name_zh)
             for a in areas.values() if a.level == AreaLevel.GRID]
    items: dict[int, list[SimpleNamespace]] = {}
    for item in session.scalars(select(Item).order_by(Item.code)):
        code = categories[item.category_id]
        items.setdefault(code, []).append(
            SimpleNamespace(id=item.id, code=item.code, name=item.name_zh, category=code))
    return World(sorted(grids, key=lambda g: g.code), items, RoutingTable.load(session))


class ApiError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


class ApiClient:
    """JSON over HTTP with a bearer token (standard library only)."""

    def __init__(self, url: str, token: str, timeout: float = 30.0):
        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, _json_or_text(exc.read())) from None

    def report(self, body: dict) -> dict:
        return self.call("POST", "/api/v1/incidents", body)[1]

    def act(self, incident_id: int, action: str, body: dict) -> dict:
        return self.call("POST", f"/api/v1/incidents/{incident_id}/actions/{action}", body)[1]

    def get_incident(self, incident_id: int) -> dict:
        return self.call("GET", f"/api/v1/incidents/{incident_id}")[1]


def _json_or_text(raw: bytes) -> dict:
    try:
        return json.loads(raw)
    except ValueError:
        return {"detail": raw.decode("utf-8", "replace")[:500]}


@dataclass
class Case:
    """One incident the simulator is walking, and what it has planned for it."""

    id: int
    version: int
    state: str
    category: int
    routes: list[int]
    due_at: str | None = None
    plan: set[str] = field(default_factory=set)  # "return", "rework", "park", "postpone", "slow"
    retried: bool = False


def incident_of(payload: dict) -> dict:
    """The incident in an API answer (actions wrap it with the event)."""
    return payload.get("incident", payload)


class Simulator:
    """Reports and steps incidents through the API. `step(now)` does at most one thing
    due at `now` (seconds on any monotonic clock) and says whether it did."""

    def __init__(self, client: ApiClient, world: World, *, rate: float, speed: float = 60.0,
                 seed: int | None = None, rates: Rates | None = None,
                 texts: DescriptionSource | None = None, limit: int | None = None, start: float = 0.0,
                 wall=lambda: datetime.now(UTC)):
        if rate <= 0 or speed <= 0:
            raise ValueError("rate and speed must be positive")
        self.client, self.world, self.rate, self.speed = client, world, rate, speed
        self.rng = np.random.default_rng(seed)
        self.rates, self.limit, self.wall = rates or Rates(), limit, wall
        self.texts = texts or DescriptionSource.load()
        self.run_id = secrets.token_hex(4)
        self.mix = CATEGORY_MIX / CATEGORY_MIX.sum()
        self.queue: list[tuple[float, int, int]] = []  # (due, tiebreak, incident id)
        self.cases: dict[int, Case] = {}
        self.counts: Counter = Counter()
        self.ticket = self.sent = 0
        self.next_report: float | None = start + self.gap()

    # ---------------------------------------------------------------- scheduling

    def gap(self) -> float:
        return float(self.rng.exponential(1.0 / self.rate))

    def schedule(self, case: Case, now: float, action: str) -> None:
        low, high = DELAYS[action]
        delay = float(self.rng.uniform(low, high)) * 60.0 / self.speed
        if "slow" in case.plan:
            case.plan.discard("slow")
            delay = max(delay, self.seconds_past_deadline(case))
        self.ticket += 1
        heapq.heappush(self.queue, (now + delay, self.ticket, case.id))

    def seconds_past_deadline(self, case: Case) -> float:
        """Real seconds until just after the running deadline (0 when too far off)."""
        if not case.due_at:
            return 0.0
        wait = (datetime.fromisoformat(case.due_at) - self.wall()).total_seconds() + 30.0
        return wait if wait <= self.rates.max_slow_wait else 0.0

    def next_due(self) -> float | None:
        """When something is next due; None when nothing ever will be."""
        times = [t for t in (self.next_report, self.queue[0][0] if self.queue else None) if t is not None]
        return min(times) if times else None

    def step(self, now: float) -> bool:
        if self.next_report is not None and self.next_report <= now:
            self.sent += 1
            done = self.limit is not None and self.sent >= self.limit
            self.next_report = None if done else self.next_report + self.gap()
            self.report(now)
            return True
        if self.queue and self.queue[0][0] <= now:
            case = self.cases[heapq.heappop(self.queue)[2]]
            self.advance(case, now)
            return True
        return False

    # ---------------------------------------------------------------- reporting

    def choose(self) -> tuple[SimpleNamespace, SimpleNamespace, list[int]]:
        """A grid and an item some department there takes (a few draws at most)."""
        for _ in range(20):
            grid = self.world.grids[int(self.rng.integers(len(self.world.grids)))]
            category = DISPUTE_CATEGORY if self.chance(self.rates.dispute) else \
                int(self.rng.choice(20, p=self.mix)) + 1
            options = self.world.items_by_category.get(category) or []
            if not options:
                continue
            item = options[int(self.rng.integers(len(options)))]
            place = SimpleNamespace(item_id=item.id, city_id=grid.city_id, town_id=grid.town_id,
                                    village_id=grid.village_id)
            routes = self.world.routing.candidates(place)
            if routes:
                return grid, item, routes
        raise RuntimeError("no grid and item with a department to take it")

    def report(self, now: float) -> None:
        grid, item, routes = self.choose()
        body = {"item_code": item.code, "grid_code": grid.code,
                "client_ref": f"sim-{self.run_id}-{self.sent}",
                "description": self.texts.describe(self.rng, item.category, item.name, grid.place),
                "channel": str(self.rng.choice(["grid_worker", "hotline", "app"], p=[0.72, 0.2, 0.08]))}
        try:
            incident = incident_of(self.client.report(body))
        except (ApiError, OSError) as exc:
            self.fail("report", exc)
            return
        case = Case(incident["id"], incident["version"], incident["state"], item.category, routes,
                    incident.get("due_at"), self.plan())
        self.cases[case.id] = case
        self.counts["reported"] += 1
        self.schedule(case, now, self.next_action(case))

    def plan(self) -> set[str]:
        r = self.rates
        chosen = {name for name, p in (("return", r.returned), ("rework", r.rework), ("slow", r.slow))
                  if self.chance(p)}
        roll = self.rng.random()
        if roll < r.parked + r.postponed:
            chosen.add("park" if roll < r.parked else "postpone")
        return chosen

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    # ---------------------------------------------------------------- stepping

    def next_action(self, case: Case) -> str | None:
        """The step this incident's state calls for, given its plan (None: done)."""
        s = State(case.state)
        if s == State.DISPATCHED:
            return "return" if "return" in case.plan else "acknowledge"
        if s == State.IN_PROGRESS:
            return "hold" if case.plan & {"park", "postpone"} else "resolve"
        if s == State.RESOLVED:
            return "rework" if "rework" in case.plan else "close"
        return {State.REPORTED: "accept", State.ACCEPTED: "dispatch", State.RETURNED: "dispatch",
                State.REOPENED: "dispatch", State.ACKNOWLEDGED: "start", State.ON_HOLD: "resume"}.get(s)

    def body_for(self, case: Case, action: str) -> dict:
        body: dict = {"expected_version": case.version}
        if action == "dispatch":
            returned = case.state == State.RETURNED and len(case.routes) > 1
            body["department_id"] = case.routes[1 if returned else 0]
        elif action in ("return", "rework"):
            body["reason"] = REASONS[action]
        elif action == "hold":
            kind = "park" if "park" in case.plan else "postpone"
            body["reason"] = REASONS[kind]
            if kind == "postpone":
                body["new_deadline"] = self.postponed_deadline(case)
        elif action == "close":
            body.update(self.closing(case))
        return body

    def postponed_deadline(self, case: Case) -> str:
        base = max(datetime.fromisoformat(case.due_at), self.wall()) if case.due_at else self.wall()
        return (base + timedelta(days=int(self.rng.integers(2, 8)))).isoformat()

    def closing(self, case: Case) -> dict:
        fields = {}
        if case.category == DISPUTE_CATEGORY:
            fields["dispute_outcome"] = "mediated" if self.chance(self.rates.mediated) else "failed"
        if self.chance(0.55):
            fields["satisfaction"] = str(self.rng.choice(["satisfied", "neutral", "dissatisfied"],
                                                         p=[0.88, 0.08, 0.04]))
        return fields

    def advance(self, case: Case, now: float) -> None:
        action = self.next_action(case)
        if action is None:
            self.cases.pop(case.id, None)
            return
        body = self.body_for(case, action)
        try:
            incident = incident_of(self.client.act(case.id, action, body))
        except ApiError as exc:
            self.on_error(case, action, exc, now)
            return
        except OSError as exc:
            self.fail(action, exc)
            self.cases.pop(case.id, None)
            return
        self.done(case, action, body, incident, now)

    def done(self, case: Case, action: str, body: dict, incident: dict, now: float) -> None:
        self.counts["steps"] += 1
        self.counts[action] += 1
        if action == "close" and "dispute_outcome" in body:
            self.counts["disputes_closed"] += 1
        case.plan.discard({"hold": "park" if "park" in case.plan else "postpone"}.get(action, action))
        self.remember(case, incident)
        case.retried = False
        following = self.next_action(case)
        if following is None:
            self.cases.pop(case.id, None)
        else:
            self.schedule(case, now, following)

    @staticmethod
    def remember(case: Case, incident: dict) -> None:
        case.version, case.state, case.due_at = incident["version"], incident["state"], incident.get("due_at")

    def on_error(self, case: Case, action: str, exc: ApiError, now: float) -> None:
        """A 409 is re-read and retried once, at once; anything else drops the incident."""
        if exc.status == 409 and not case.retried:
            log.info("incident %s: %s conflicted (%s); re-reading", case.id, action, exc.body.get("detail"))
            self.counts["conflicts"] += 1
            try:
                incident = self.client.get_incident(case.id)
            except (ApiError, OSError) as read_error:
                self.fail("read", read_error)
                self.cases.pop(case.id, None)
                return
            self.remember(case, incident)
            case.retried = True
            self.ticket += 1
            heapq.heappush(self.queue, (now, self.ticket, case.id))
            return
        self.fail(action, exc)
        self.cases.pop(case.id, None)

    def fail(self, what: str, exc: Exception) -> None:
        log.warning("%s failed: %s", what, exc)
        self.counts["errors"] += 1
        self.counts[f"errors:{what}"] += 1

    def summary(self, elapsed: float) -> dict:
        return {"elapsed_seconds": round(elapsed, 1), "open_in_simulation": len(self.cases),
                **dict(sorted(self.counts.items()))}


def run(sim: Simulator, *, duration: float | None = None, clock=time.monotonic, out=print) -> dict:
    """Step in real time until `duration` passes (or Ctrl-C), printing a status line every ~5 s."""
    started = last = clock()
    seen = Counter()
    try:
        while duration is None or clock() - started < duration:
            now = clock()
            if not sim.step(now):
                due = sim.next_due()
                if due is None:
                    break
                time.sleep(min(max(due - now, 0.0), 0.2))
            if now - last >= STATUS_EVERY:
                out(status_line(sim.counts, seen, now - last))
                seen, last = Counter(sim.counts), now
    except KeyboardInterrupt:
        pass
    return sim.summary(clock() - started)


def status_line(counts: Counter, before: Counter, seconds: float) -> str:
    reported = (counts["reported"] - before["reported"]) / seconds
    steps = (counts["steps"] - before["steps"]) / seconds
    return (f"reported {reported:.2f}/s  steps {steps:.2f}/s  total {counts['reported']} reported, "
            f"{counts['close']} closed, {counts['conflicts']} conflicts, {counts['errors']} errors")


def simulate_command(session: Session, args) -> dict:
    """`python -m seed simulate`: read the world, then drive the API in real time."""
    token = args.token or os.environ.get("GRID_API_TOKEN")
    if not token:
        raise SystemExit("give --token or set GRID_API_TOKEN (make one with models.token.create_token)")
    world = load_world(session)
    session.rollback()  # read once; hold no transaction open while simulating
    if not world.grids:
        raise SystemExit("the database has no city; run `python -m seed city` first")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    sim = Simulator(ApiClient(args.url, token), world, rate=args.rate, speed=args.speed, seed=args.seed,
                    start=time.monotonic())
    return run(sim, duration=args.duration, out=lambda line: print(line, flush=True))
