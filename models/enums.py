"""String enums for everything the closed loop names."""
from __future__ import annotations

from enum import StrEnum


class AreaLevel(StrEnum):
    CITY = "city"
    TOWN = "town"
    VILLAGE = "village"
    GRID = "grid"


# The levels that own incidents and run a command centre, lowest first.
COMMAND_LEVELS = (AreaLevel.VILLAGE, AreaLevel.TOWN, AreaLevel.CITY)


class Role(StrEnum):
    GRID_WORKER = "grid_worker"
    OPERATOR = "operator"
    SHIFT_LEAD = "shift_lead"
    LEADER = "leader"
    HANDLER = "handler"  # a department's staff member
    ADMIN = "admin"
    SYSTEM = "system"  # timers, importers and intake clients


class State(StrEnum):
    REPORTED = "REPORTED"
    ACCEPTED = "ACCEPTED"
    DISPATCHED = "DISPATCHED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    IN_PROGRESS = "IN_PROGRESS"
    ON_HOLD = "ON_HOLD"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"
    RETURNED = "RETURNED"
    REOPENED = "REOPENED"
    SELF_HANDLED = "SELF_HANDLED"
    INVALID = "INVALID"
    DUPLICATE = "DUPLICATE"
    NOT_OURS = "NOT_OURS"


# Left out of every rate (DOMAIN.md).
EXCLUDED_STATES = frozenset({State.INVALID, State.DUPLICATE, State.NOT_OURS})
CLOSED_STATES = EXCLUDED_STATES | {State.CLOSED}


class Priority(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"
    LOW = "low"


class Stage(StrEnum):
    ACCEPT = "accept"
    DISPATCH = "dispatch"
    HANDLE = "handle"
    CHECK = "check"


class Clock(StrEnum):
    CALENDAR = "calendar"
    WORKING = "working"


class Channel(StrEnum):
    GRID_WORKER = "grid_worker"
    HOTLINE = "hotline"
    APP = "app"
    VIDEO = "video"
    OPEN311 = "open311"
    IMPORT = "import"


class DisputeOutcome(StrEnum):
    MEDIATED = "mediated"
    FAILED = "failed"


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"
    NEUTRAL = "neutral"
    DISSATISFIED = "dissatisfied"


class Action(StrEnum):
    REPORT = "report"
    ACCEPT = "accept"
    DISPATCH = "dispatch"
    ACKNOWLEDGE = "acknowledge"
    START = "start"
    HOLD = "hold"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    REWORK = "rework"
    REOPEN = "reopen"
    RETURN = "return"
    REASSIGN = "reassign"
    ESCALATE = "escalate"
    INVALIDATE = "invalidate"
    DUPLICATE = "duplicate"
    NOT_OURS = "not-ours"
    SELF_HANDLE = "self-handle"
    RATE = "rate"
    BREACH = "breach"
    ACK_ALARM = "ack-alarm"  # a shift lead saw a breach alarm (ACKNOWLEDGE: a department signs)
