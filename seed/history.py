"""`python -m seed history`: realistic closed-loop history, made by the lifecycle functions.

Every incident is reported and then walked through the same transition functions the
API uses, at simulated times, so history obeys every rule live data does. Each day's
incidents are simulated to the end of their lives (or to `end`, leaving them open) and
committed together, which keeps 90 days at Dongguan's volume within minutes.

Realism: a day rhythm peaking mid-morning and mid-afternoon and a quieter weekend;
persistent hotspots (grid weights drawn once from a heavy-tailed distribution, and each
town's own category mix); towns that work at different speeds, so on-time rates and
rankings differ; and breaches, escalations, returns, rework, postponements, reopenings
and dispute outcomes at plausible rates. Shift leads acknowledge breach alarms within
minutes, so at `end` only the latest breaches still flash on the walls.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session
from tqdm import tqdm

from models import Area, Category, Department, Incident, Item, Staff
from models import lifecycle
from models.actor import Actor
from models.enums import AreaLevel, Channel, Role
from models.routing import RoutingTable
from models.sla import CITY_ZONE
from seed.texts import DescriptionSource

DETECTION_DELAY = timedelta(seconds=30)  # how long the SLA sweeper takes to notice
ACK_DELAY_MINUTES = (2, 30)  # how soon a shift lead acknowledges a breach alarm
# Relative report volume by hour of day in the city's zone.
HOURLY = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4.5, 6.5, 7, 6.5,
                   4.5, 4.5, 6, 6.5, 6, 5, 3.5, 3, 2.8, 2.4, 1.8, 1.3])
# Relative volume by weekday, Monday first, scaled so a week averages `per_day`.
WEEKDAY = tuple(w * 7 / 6.49 for w in (1.0, 1.02, 1.0, 0.98, 0.97, 0.8, 0.72))
# Share of reports by category code 1..20.
CATEGORY_MIX = np.array([9, 5, 3, 2, 3, 1.5, 4, 3, 8, 6, 2, 5, 2, 16, 12, 7, 6, 4, 2.5, 2])


@dataclass
class Rates:
    invalid: float = 0.03
    duplicate: float = 0.02
    not_ours: float = 0.015
    self_handle: float = 0.10
    manual_escalation: float = 0.02
    returned: float = 0.05
    parked: float = 0.02
    postponed: float = 0.04
    rework: float = 0.05
    reopen: float = 0.01
    feedback: float = 0.55
    mediated: float = 0.96


@dataclass
class Cast:
    """The city's people and places, held in memory (and so in the session's identity map)."""

    grids: list[Area]
    grid_weights: np.ndarray  # cumulative, for sampling by bisection
    areas: dict[int, Area]
    items_by_category: dict[int, list[Item]]
    category_codes: dict[int, int]
    town_mix: dict[int, np.ndarray]
    town_speed: dict[int, float]
    leads: dict[int, Actor]
    workers: dict[int, list[Actor]]
    handlers: dict[int, Actor]
    routing: RoutingTable
    keep: list = field(default_factory=list)

    def route(self, incident: Incident) -> list[int]:
        """Departments that take this item in this place, nearest level first."""
        return self.routing.candidates(incident)

    def lead(self, incident: Incident) -> Actor:
        area = {AreaLevel.VILLAGE: incident.village_id, AreaLevel.TOWN: incident.town_id,
                AreaLevel.CITY: incident.city_id}[incident.level]
        return self.leads[area]


def load_cast(session: Session, rng: np.random.Generator) -> Cast:
    areas = {a.id: a for a in session.scalars(select(Area))}
    grids = [a for a in areas.values() if a.level == AreaLevel.GRID]
    towns = [a for a in areas.values() if a.level == AreaLevel.TOWN]
    categories = list(session.scalars(select(Category)))
    items = list(session.scalars(select(Item)))
    departments = list(session.scalars(select(Department)))
    staff = list(session.scalars(select(Staff)))
    return Cast(
        grids=grids,
        grid_weights=np.cumsum(_normalise(rng.lognormal(0.0, 1.0, size=len(grids)))),
        areas=areas,
        items_by_category={c.code: [i for i in items if i.category_id == c.id] for c in categories},
        category_codes={c.id: c.code for c in categories},
        town_mix={t.id: _normalise(CATEGORY_MIX * rng.lognormal(0, 0.5, size=20)) for t in towns},
        town_speed={t.id: float(rng.lognormal(0, 0.25)) for t in towns},
        leads=_first_by(staff, Role.SHIFT_LEAD, "area_id"),
        workers=_all_by(staff, Role.GRID_WORKER, "area_id"),
        handlers=_first_by(staff, Role.HANDLER, "department_id"),
        routing=RoutingTable.load(session),
        keep=[categories, items, staff, departments],
    )


def _normalise(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


def _first_by(staff: list[Staff], role: Role, key: str) -> dict[int, Actor]:
    found: dict[int, Actor] = {}
    for person in staff:
        if person.role == role:
            found.setdefault(getattr(person, key), Actor.from_staff(person))
    return found


def _all_by(staff: list[Staff], role: Role, key: str) -> dict[int, list[Actor]]:
    found: dict[int, list[Actor]] = {}
    for person in staff:
        if person.role == role:
            found.setdefault(getattr(person, key), []).append(Actor.from_staff(person))
    return found


class Simulator:
    """Walks one incident at a time through the loop. Steps past `end` are not taken."""

    def __init__(self, session: Session, cast: Cast, rng: np.random.Generator, end: datetime,
                 texts: DescriptionSource, rates: Rates | None = None):
        self.session, self.cast, self.rng, self.end = session, cast, rng, end
        self.texts, self.rates = texts, rates or Rates()
        self.system = Actor.system("sla-timer")
        self.recent: dict[int, Incident] = {}  # the last genuine report in each grid

    # ---------------------------------------------------------------- plumbing

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def share_of_window(self, incident: Incident, t: datetime, median: float = 0.35) -> datetime:
        """A time when the next step happens: a lognormal share of the running time limit."""
        window = (incident.due_at - t) if incident.due_at and incident.due_at > t else timedelta(hours=2)
        speed = self.cast.town_speed.get(incident.town_id, 1.0)
        share = median * speed * math.exp(self.rng.normal(0, 0.6))
        return t + max(window * share, timedelta(minutes=1))

    def at(self, incident: Incident, t: datetime) -> bool:
        """Move the clock to t, recording a breach that the sweeper would have caught first."""
        # Rework restarts a handling deadline that may already have passed: the sweeper
        # notices it after the rework, never before the incident's last event.
        noticed = incident.due_at and max(incident.due_at, incident.updated_at) + DETECTION_DELAY
        if noticed and not incident.due_breached and noticed <= min(t, self.end):
            lifecycle.breach(self.session, incident, self.system, expected_version=incident.version,
                             stage=incident.due_stage, deadline=incident.due_at, now=noticed, flush=False)
        self.ack_alarm(incident, t)
        return t <= self.end

    def ack_alarm(self, incident: Incident, t: datetime) -> None:
        """A shift lead acknowledges a breach alarm some minutes after it goes off, and at
        the latest when the incident next moves; so only the breaches of the last minutes
        before `end` are still flashing, and no closed incident keeps an alarm."""
        if incident.alarm_at is None:
            return
        # Spread by the alarm's own time, not drawn from rng: the rest of history stays as it was.
        low, high = ACK_DELAY_MINUTES
        delay = timedelta(minutes=low + int(incident.alarm_at.timestamp()) % (high - low + 1))
        moment = min(incident.alarm_at + delay, t)
        if moment <= self.end:
            lifecycle.ack_alarm(self.session, incident, self.cast.lead(incident),
                                expected_version=incident.version, now=moment, flush=False)

    def do(self, fn, incident: Incident, actor: Actor, t: datetime, **params) -> None:
        fn(self.session, incident, actor, expected_version=incident.version, now=t, flush=False, **params)

    # ---------------------------------------------------------------- the loop

    def report(self, t: datetime) -> Incident:
        cast, rng = self.cast, self.rng
        grid = cast.grids[min(int(np.searchsorted(cast.grid_weights, rng.random())), len(cast.grids) - 1)]
        code = int(rng.choice(20, p=cast.town_mix[grid.town_id])) + 1
        options = cast.items_by_category[code]
        item = options[rng.integers(len(options))]
        workers = cast.workers[grid.id]
        reporter = workers[rng.integers(len(workers))]
        channel = rng.choice([Channel.GRID_WORKER, Channel.HOTLINE, Channel.APP], p=[0.72, 0.2, 0.08])
        priority = "urgent" if self.chance(0.04) else None
        village = cast.areas[grid.village_id].name_zh
        incident = lifecycle.report(
            self.session, reporter, item_id=item.id, area_id=grid.id, channel=channel,
            priority=priority, description=self.texts.describe(rng, code, item.name_zh, village),
            lon=grid.centroid_lon, lat=grid.centroid_lat, now=t, flush=False,
            reporter_name=None if channel == Channel.GRID_WORKER else "市民",
        )
        self.simulate(incident, t)
        return incident

    def simulate(self, incident: Incident, t: datetime) -> None:
        t = self.share_of_window(incident, t, median=0.25)
        if not self.at(incident, t):
            return
        if self.triage(incident, t):
            return
        t = self.maybe_escalate(incident, t)
        self.work(incident, t)

    def triage(self, incident: Incident, t: datetime) -> bool:
        """Set aside or self-handled (True: nothing more to do), or accepted."""
        r, lead = self.rates, self.cast.lead(incident)
        roll = self.rng.random()
        original = self.recent.get(incident.grid_id)
        set_aside = ((r.invalid, lifecycle.invalidate, {"reason": "经核实情况不属实"}),
                     (r.duplicate, lifecycle.mark_duplicate, {"reason": "与已上报事件重复"}),
                     (r.not_ours, lifecycle.not_ours, {"reason": "核实后不属于网格事项"}))
        for share, fn, params in set_aside:
            if roll < share:
                if fn is lifecycle.mark_duplicate:
                    if original is None:
                        fn, params = lifecycle.invalidate, set_aside[0][2]
                    else:
                        self.session.flush()  # the original needs its id
                        params = {**params, "duplicate_of_id": original.id}
                self.do(fn, incident, lead, t, **params)
                return True
            roll -= share
        self.recent[incident.grid_id] = incident
        if roll < r.self_handle:
            self.do(lifecycle.self_handle, incident, self.grid_worker(incident), t, reason="网格员现场处置完毕")
            t = self.share_of_window(incident, t)
            if self.at(incident, t):
                self.close(incident, t, self.cast.lead(incident))
            return True
        self.do(lifecycle.accept, incident, lead, t)
        return False

    def maybe_escalate(self, incident: Incident, t: datetime) -> datetime:
        if self.chance(self.rates.manual_escalation) and incident.level != AreaLevel.CITY:
            t += timedelta(minutes=int(self.rng.integers(2, 30)))
            if self.at(incident, t):
                self.do(lifecycle.escalate, incident, self.cast.lead(incident), t, reason="需上级协调处置")
        return t

    def work(self, incident: Incident, t: datetime, reopened: bool = False) -> None:
        routes = self.cast.route(incident)
        t = self.share_of_window(incident, t)
        if not routes or not self.at(incident, t):
            return
        self.do(lifecycle.dispatch, incident, self.cast.lead(incident), t, department_id=routes[0])
        if self.chance(self.rates.returned) and len(routes) > 1:
            t = self.share_of_window(incident, t, median=0.05)
            if not self.at(incident, t):
                return
            self.do(lifecycle.return_to_centre, incident, self.handler(incident), t, reason="非本部门职责范围")
            t = self.share_of_window(incident, t)
            if not self.at(incident, t):
                return
            other = routes[1 + int(self.rng.integers(len(routes) - 1))]
            self.do(lifecycle.dispatch, incident, self.cast.lead(incident), t, department_id=other)
        self.handle(incident, t, reopened)

    def handle(self, incident: Incident, t: datetime, reopened: bool) -> None:
        handler = self.handler(incident)
        for fn in (lifecycle.acknowledge, lifecycle.start):
            t = self.share_of_window(incident, t, median=0.03)
            if not self.at(incident, t):
                return
            self.do(fn, incident, handler, t)
        t = self.maybe_hold(incident, t, handler)
        if t is None:
            return
        t = self.share_of_window(incident, t)
        if not self.at(incident, t):
            return
        self.do(lifecycle.resolve, incident, handler, t)
        self.check(incident, t, reopened)

    def maybe_hold(self, incident: Incident, t: datetime, handler: Actor) -> datetime | None:
        r = self.rates
        roll = self.rng.random()
        if roll >= r.parked + r.postponed:
            return t
        t = self.share_of_window(incident, t, median=0.2)
        if not self.at(incident, t):
            return None
        if roll < r.parked:
            self.do(lifecycle.hold, incident, handler, t, reason="等待当事人配合，暂时挂账")
            t += timedelta(hours=float(self.rng.uniform(2, 48)))
        else:
            new_deadline = max(incident.handle_due, t) + timedelta(days=int(self.rng.integers(2, 8)))
            self.do(lifecycle.hold, incident, self.cast.lead(incident), t, reason="需协调多部门，申请延期",
                    new_deadline=new_deadline)
            t += timedelta(hours=float(self.rng.uniform(1, 24)))
        if not self.at(incident, t):
            return None
        self.do(lifecycle.resume, incident, handler, t)
        return t

    def check(self, incident: Incident, t: datetime, reopened: bool) -> None:
        t = self.share_of_window(incident, t)
        if not self.at(incident, t):
            return
        if self.chance(self.rates.rework):
            self.do(lifecycle.rework, incident, self.grid_worker(incident), t, reason="现场核查未整改到位")
            t = self.share_of_window(incident, t)
            if not self.at(incident, t):
                return
            self.do(lifecycle.resolve, incident, self.handler(incident), t)
            t = self.share_of_window(incident, t)
            if not self.at(incident, t):
                return
        self.close(incident, t, self.grid_worker(incident))
        if not reopened and self.chance(self.rates.reopen):
            t += timedelta(hours=float(self.rng.uniform(6, 72)))
            if self.at(incident, t):
                self.do(lifecycle.reopen, incident, self.cast.lead(incident), t, reason="群众反映问题复发")
                self.work(incident, t, reopened=True)

    def close(self, incident: Incident, t: datetime, actor: Actor) -> None:
        r = self.rates
        outcome = None
        if self.cast.category_codes[incident.category_id] == 9:
            outcome = "mediated" if self.chance(r.mediated) else "failed"
        satisfaction = None
        if self.chance(r.feedback):
            satisfaction = self.rng.choice(["satisfied", "neutral", "dissatisfied"], p=[0.88, 0.08, 0.04])
        self.do(lifecycle.close, incident, actor, t, dispute_outcome=outcome, satisfaction=satisfaction)

    def grid_worker(self, incident: Incident) -> Actor:
        workers = self.cast.workers[incident.grid_id]
        return workers[self.rng.integers(len(workers))]

    def handler(self, incident: Incident) -> Actor:
        return self.cast.handlers[incident.department_id]


def report_times(rng: np.random.Generator, day_start: datetime, per_day: int) -> list[datetime]:
    """Report times for one local day, following the week and day rhythms."""
    weekday = day_start.astimezone(CITY_ZONE).weekday()
    count = int(rng.poisson(per_day * WEEKDAY[weekday] * rng.lognormal(0, 0.05)))
    hours = rng.choice(24, size=count, p=HOURLY / HOURLY.sum())
    seconds = rng.integers(0, 3600, size=count)
    return sorted(day_start + timedelta(hours=int(h), seconds=int(s)) for h, s in zip(hours, seconds))


def generate_history(session: Session, *, days: int, per_day: int = 3000, seed: int = 7,
                     end: datetime | None = None, progress: bool = True,
                     rates: Rates | None = None) -> dict:
    """Simulate `days` local days ending at `end` (default: now). Commits once per day."""
    if days < 1 or per_day < 1:
        raise ValueError("days and per_day must be positive")
    end = (end or datetime.now(timezone.utc)).replace(microsecond=0)
    rng = np.random.default_rng(seed)
    cast = load_cast(session, rng)
    if not cast.grids:
        raise RuntimeError("the database has no city; run `python -m seed city` first")
    sim = Simulator(session, cast, rng, end, DescriptionSource.load(), rates)
    first_day = end.astimezone(CITY_ZONE).replace(hour=0, minute=0, second=0) - timedelta(days=days - 1)
    made = 0
    for day in tqdm(range(days), desc="history (days)", disable=not progress):
        day_start = (first_day + timedelta(days=day)).astimezone(timezone.utc)
        for t in report_times(rng, day_start, per_day):
            if t > end:
                break
            sim.report(t)
            made += 1
        session.commit()
        sim.recent.clear()  # let the committed day be garbage-collected
    return {"days": days, "incidents": made}
