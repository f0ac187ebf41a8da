"""Time limits: working-time arithmetic, the amber band and most-specific-rule resolution."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from models.catalogue import SlaRule
from models.enums import Clock, Priority, Stage
from models.errors import Invalid
from models.sla import Limit, SlaPolicy, add_working_minutes, deadline_after, warn_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
ITEM, OTHER_ITEM, CATEGORY, OTHER_CATEGORY = 11, 12, 3, 4


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in November 2026 in the city's zone, as the aware UTC datetime callers pass.

    2 November 2026 is a Monday, so 6 is a Friday and 7 a Saturday.
    """
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(timezone.utc)


# ---------------------------------------------------------------- working time

def test_it_carries_working_minutes_over_the_weekend():
    # 30 minutes before Friday's close, the other 30 from Monday's opening at 08:30.
    assert add_working_minutes(local(6, 17, 30), 60) == local(9, 9, 0)


def test_it_starts_the_clock_after_lunch_when_started_during_lunch():
    assert add_working_minutes(local(2, 12, 30), 30) == local(2, 14, 30)


def test_it_starts_the_clock_on_monday_morning_when_started_on_saturday():
    assert add_working_minutes(local(7, 10, 0), 30) == local(9, 9, 0)


def test_it_starts_the_clock_at_half_past_eight_when_started_early():
    assert add_working_minutes(local(2, 7, 0), 30) == local(2, 9, 0)


def test_it_skips_lunch_within_a_working_day():
    # 11:30 + 60: 30 minutes before noon, 30 after 14:00.
    assert add_working_minutes(local(2, 11, 30), 60) == local(2, 14, 30)


def test_it_returns_working_deadlines_in_utc():
    due = add_working_minutes(local(6, 17, 30), 60)
    assert due.tzinfo is timezone.utc
    assert (due.hour, due.minute) == (1, 0)  # 09:00 in Shanghai


def test_it_adds_plain_minutes_for_calendar_limits():
    start = local(6, 17, 30)
    assert deadline_after(start, Limit(120, Clock.CALENDAR, 1)) == local(6, 19, 30)
    assert deadline_after(start, Limit(120, Clock.WORKING, 1)) == local(9, 10, 0)


def test_it_turns_amber_at_three_quarters_of_the_limit():
    start = local(2, 9, 0)
    assert warn_time(start, start + timedelta(minutes=100)) == start + timedelta(minutes=75)


# ---------------------------------------------------------------- rule resolution

def _rule(rule_id: int, *, priority=None, category_id=None, item_id=None, stage=Stage.HANDLE) -> SlaRule:
    return SlaRule(id=rule_id, stage=stage, priority=priority, category_id=category_id,
                   item_id=item_id, minutes=rule_id * 10, clock=Clock.CALENDAR)


SCOPES = [  # most specific first
    ("item+priority", dict(item_id=ITEM, priority=Priority.URGENT)),
    ("item", dict(item_id=ITEM)),
    ("category+priority", dict(category_id=CATEGORY, priority=Priority.URGENT)),
    ("category", dict(category_id=CATEGORY)),
    ("default+priority", dict(priority=Priority.URGENT)),
    ("default", dict()),
]


@pytest.mark.parametrize("position", range(len(SCOPES)), ids=[name for name, _ in SCOPES])
def test_it_picks_the_most_specific_rule(position):
    # Every rule from `position` down exists, plus decoys that must never match.
    rules = [_rule(i + 1, **scope) for i, (_, scope) in enumerate(SCOPES) if i >= position]
    rules += [
        _rule(90, item_id=OTHER_ITEM, priority=Priority.URGENT),
        _rule(91, category_id=OTHER_CATEGORY),
        _rule(92, priority=Priority.URGENT, stage=Stage.ACCEPT),
        _rule(93, item_id=ITEM, priority=Priority.LOW),
    ]
    limit = SlaPolicy(rules).resolve(Stage.HANDLE, Priority.URGENT, ITEM, CATEGORY)
    assert limit == Limit(minutes=(position + 1) * 10, clock=Clock.CALENDAR, rule_id=position + 1)


def test_it_refuses_to_guess_when_no_rule_applies():
    policy = SlaPolicy([_rule(1, item_id=OTHER_ITEM), _rule(2, stage=Stage.ACCEPT)])
    with pytest.raises(Invalid) as raised:
        policy.resolve(Stage.HANDLE, Priority.NORMAL, ITEM, CATEGORY)
    assert raised.value.field == "item"
