"""Time-limit rules: which rule applies, and when its deadline falls.

Resolution is most-specific-first (DOMAIN.md): item with priority, item alone,
category with priority, category alone, default with priority, default alone.

Working time is the Chinese civil-service day in the city's zone:
Monday to Friday, 08:30–12:00 and 14:00–18:00. Public holidays and make-up
working days are not modelled yet; calendar rules are unaffected.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.catalogue import SlaRule
from models.enums import Clock, Priority, Stage
from models.errors import Invalid
from models.settings import CITY_TZ

CITY_ZONE = ZoneInfo(CITY_TZ)
WORK_PERIODS = ((time(8, 30), time(12, 0)), (time(14, 0), time(18, 0)))
AMBER_SHARE = 0.75

_POLICY_KEY = "sla_policy"


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


def get_policy(session: Session) -> SlaPolicy:
    """The rules, loaded once per session (rules change rarely; admins start a new session)."""
    policy = session.info.get(_POLICY_KEY)
    if policy is None:
        policy = SlaPolicy(list(session.scalars(select(SlaRule))))
        session.info[_POLICY_KEY] = policy
    return policy


def use_policy(session: Session, policy: SlaPolicy) -> None:
    """Give the session rules loaded elsewhere (a web process shares one copy between requests)."""
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
