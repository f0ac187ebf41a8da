"""Time-limit rules: which rule applies, and when its deadline falls.

Resolution is most-specific-first (DOMAIN.md): item with priority, item alone,
category with priority, category alone, default with priority, default alone.

Working time is the Chinese civil-service day in the city's zone:
Monday to Friday, 08:30–12:00 and 14:00–18:00. Public holidays and make-up
working days are not modelled yet; calendar rules are unaffected.

Where the rules come from. A session reads them once (`get_policy`), so a worker's job,
which opens its own sessions, always uses the rules in SQL. A web process shares one copy
between its requests through a `PolicyCache` (`share_policy`): before using it, a session
reads the rules' version, the newest `admin_change` id (the admin screens write one in the
same transaction as every change), and reloads the rules when it moved. So an edited rule
applies to the next deadline set in every process, with no restart and nothing but SQL to
trust; an edit made outside the admin screens (SQL by hand, a new seed) applies within the
cache's `max_age`. A deadline is fixed when it is set: editing a rule never moves one.
"""
from __future__ import annotations

import threading
import time as monotonic_clock
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.catalogue import SlaRule
from models.enums import Clock, Priority, Stage
from models.errors import Invalid
from models.org import AdminChange
from models.settings import CITY_TZ

CITY_ZONE = ZoneInfo(CITY_TZ)
WORK_PERIODS = ((time(8, 30), time(12, 0)), (time(14, 0), time(18, 0)))
AMBER_SHARE = 0.75

_POLICY_KEY = "sla_policy"
_CACHE_KEY = "sla_policy_cache"


@dataclass(frozen=True)
class Limit:
    minutes: int
    clock: Clock
    rule_id: int


class SlaPolicy:
    """All rules in memory, indexed by scope, so resolving one costs a few dict look-ups."""

    def __init__(self, rules: list[SlaRule]):
        self._rules = {
            (r.stage, r.priority, r.category_id, r.item_id): Limit(r.minutes, r.clock, r.id)
            for r in rules
        }

    def resolve(self, stage: Stage, priority: Priority, item_id: int, category_id: int) -> Limit:
        scopes = ((None, item_id), (category_id, None), (None, None))
        for category_key, item_key in scopes:
            for pri in (priority, None):
                limit = self._rules.get((stage, pri, category_key, item_key))
                if limit:
                    return limit
        raise Invalid("item", f"no time-limit rule for stage {stage} and priority {priority}")


def load_policy(session: Session) -> SlaPolicy:
    return SlaPolicy(list(session.scalars(select(SlaRule))))


def read_rules_version(session: Session) -> int:
    """The newest admin change's id: it moves with every change made on the admin screens
    (one primary-key look-up)."""
    return session.scalar(select(func.max(AdminChange.id))) or 0


@dataclass(frozen=True)
class _Held:
    version: int
    policy: SlaPolicy
    expires: float


class PolicyCache:
    """One process's copy of the rules, shared by its sessions: reloaded when the rules'
    version in SQL has moved, or after `max_age` seconds (for edits made outside the admin
    screens). A race between two threads only repeats a load."""

    def __init__(self, max_age: float = 60):
        self.max_age = max_age
        self._held: _Held | None = None
        self._lock = threading.Lock()

    def get(self, session: Session) -> SlaPolicy:
        version = read_rules_version(session)  # before the rules: a change in between reloads next time
        now = monotonic_clock.monotonic()
        held = self._held
        if held is not None and held.version == version and now < held.expires:
            return held.policy
        policy = load_policy(session)
        with self._lock:
            self._held = _Held(version, policy, now + self.max_age)
        return policy

    def clear(self) -> None:
        with self._lock:
            self._held = None


def get_policy(session: Session) -> SlaPolicy:
    """The rules, loaded once per session: from the process's PolicyCache if the session
    was given one (share_policy), else from SQL."""
    policy = session.info.get(_POLICY_KEY)
    if policy is None:
        cache = session.info.get(_CACHE_KEY)
        policy = cache.get(session) if cache is not None else load_policy(session)
        session.info[_POLICY_KEY] = policy
    return policy


def share_policy(session: Session, cache: PolicyCache) -> None:
    """Let the session take the rules from a process-wide cache (a web process's requests)."""
    session.info[_CACHE_KEY] = cache


def use_policy(session: Session, policy: SlaPolicy) -> None:
    """Give the session rules loaded elsewhere."""
    session.info[_POLICY_KEY] = policy


def forget_policy(session: Session) -> None:
    session.info.pop(_POLICY_KEY, None)


def deadline_after(start: datetime, limit: Limit) -> datetime:
    if limit.clock == Clock.CALENDAR:
        return start + timedelta(minutes=limit.minutes)
    return add_working_minutes(start, limit.minutes)


def warn_time(start: datetime, due: datetime) -> datetime:
    """When the amber band begins: 75% of the way from the stage's start to its deadline."""
    return start + (due - start) * AMBER_SHARE


def add_working_minutes(start: datetime, minutes: int) -> datetime:
    local = start.astimezone(CITY_ZONE)
    remaining = timedelta(minutes=minutes)
    day = local.date()
    while True:
        if day.weekday() < 5:
            for opens, shuts in WORK_PERIODS:
                begin = max(datetime.combine(day, opens, CITY_ZONE), local)
                end = datetime.combine(day, shuts, CITY_ZONE)
                if begin >= end:
                    continue
                if begin + remaining <= end:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= end - begin
        day += timedelta(days=1)
