"""The machinery every lifecycle step shares: the transition table, the checks made
before any change, starting stage clocks, and recording the audit event."""
from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import StaleDataError

from models.actor import Actor, check_allowed
from models.catalogue import Category
from models.enums import Action, Stage, State
from models.errors import IllegalTransition, Invalid, VersionConflict
from models.incident import Incident, IncidentEvent
from models.sla import deadline_after, get_policy, warn_time
from models.types import utcnow

S = State
WORKING = frozenset({S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.ON_HOLD})
OPEN = frozenset(State) - {S.CLOSED, S.INVALID, S.DUPLICATE, S.NOT_OURS}

# action -> (states it may start from, state it leads to; None keeps the state)
TRANSITIONS: dict[Action, tuple[frozenset[State], State | None]] = {
    Action.ACCEPT: (frozenset({S.REPORTED}), S.ACCEPTED),
    Action.INVALIDATE: (frozenset({S.REPORTED}), S.INVALID),
    Action.DUPLICATE: (frozenset({S.REPORTED}), S.DUPLICATE),
    Action.NOT_OURS: (frozenset({S.REPORTED}), S.NOT_OURS),
    Action.SELF_HANDLE: (frozenset({S.REPORTED}), S.SELF_HANDLED),
    Action.DISPATCH: (frozenset({S.ACCEPTED, S.RETURNED, S.REOPENED}), S.DISPATCHED),
    Action.ACKNOWLEDGE: (frozenset({S.DISPATCHED}), S.ACKNOWLEDGED),
    Action.RETURN: (frozenset({S.DISPATCHED}), S.RETURNED),
    Action.START: (frozenset({S.ACKNOWLEDGED}), S.IN_PROGRESS),
    Action.HOLD: (frozenset({S.IN_PROGRESS}), S.ON_HOLD),
    Action.RESUME: (frozenset({S.ON_HOLD}), S.IN_PROGRESS),
    Action.RESOLVE: (frozenset({S.IN_PROGRESS}), S.RESOLVED),
    Action.REWORK: (frozenset({S.RESOLVED}), S.IN_PROGRESS),
    Action.CLOSE: (frozenset({S.RESOLVED, S.SELF_HANDLED}), S.CLOSED),
    Action.REOPEN: (frozenset({S.CLOSED}), S.REOPENED),
    Action.RATE: (frozenset({S.CLOSED}), None),
    Action.REASSIGN: (WORKING, None),
    Action.ESCALATE: (OPEN, None),
    Action.BREACH: (OPEN, None),
    Action.ACK_ALARM: (OPEN, None),
}

MAX_TEXT = 4000
COUNTERS = ("breach_count", "escalation_count", "reassign_count", "return_count",
             "rework_count", "postpone_count")


# ---------------------------------------------------------------- helpers

def now_or(now: datetime | None) -> datetime:
    return now or utcnow()


def begin(incident: Incident, action: Action, actor: Actor, expected_version: int) -> State | None:
    check_allowed(actor, action, incident)
    if expected_version != incident.version:
        raise VersionConflict(
            f"incident {incident.id} is at version {incident.version}, not {expected_version}",
            state=incident.state, version=incident.version,
        )
    sources, target = TRANSITIONS[action]
    if incident.state not in sources:
        raise IllegalTransition(
            f"cannot {action} an incident that is {incident.state}",
            state=incident.state, version=incident.version,
        )
    return target


def require_text(field: str, value: str | None, *, required: bool) -> str | None:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(field, f"{field} is required")
    if len(value) > MAX_TEXT:
        raise Invalid(field, f"{field} is longer than {MAX_TEXT} characters")
    return value or None


def coerce(field: str, enum_cls, value):
    if value is None or isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise Invalid(field, f"{value!r} is not one of: {allowed}") from None


def get_row(session: Session, model, ident: int | None, field: str):
    row = session.get(model, ident) if ident is not None else None
    if row is None:
        raise Invalid(field, f"no {model.__tablename__} with id {ident}")
    return row


def start_clock(session: Session, incident: Incident, stage: Stage | None, start: datetime) -> None:
    """Start the clock of `stage` at `start` (None stops all clocks). Starting a stage ends
    the one before it, so a breach of that one gets its final over-run here."""
    complete_stage(incident, start)
    incident.due_stage, incident.due_breached = stage, False
    if stage is None:
        incident.due_at = incident.warn_at = None
        return
    limit = get_policy(session).resolve(stage, incident.priority, incident.item_id, incident.category_id)
    due = deadline_after(start, limit)
    setattr(incident, f"{stage.value}_due", due)
    incident.due_at, incident.warn_at = due, warn_time(start, due)


def dispute_categories(session: Session) -> frozenset[int]:
    """Ids of the dispute categories, read once per session like the time-limit rules."""
    if "dispute_categories" not in session.info:
        ids = session.scalars(select(Category.id).where(Category.is_dispute))
        session.info["dispute_categories"] = frozenset(ids)
    return session.info["dispute_categories"]


def complete_stage(incident: Incident, now: datetime) -> None:
    """Note how far over a breached stage ran, now that it is done."""
    if not incident.due_breached:
        return
    session = object_session(incident)
    with session.no_autoflush if session else nullcontext():
        breaches = list(incident.breaches)
    for record in breaches:
        if record.completed_at is None:
            record.completed_at = now
            record.overdue_seconds = int((now - record.deadline).total_seconds())


def record(
    session: Session, incident: Incident, actor: Actor, action: Action, now: datetime,
    target: State | None, *, reason: str | None = None, payload: dict[str, Any] | None = None,
    flush: bool = True,
) -> IncidentEvent:
    from_state = incident.state
    if target is not None:
        incident.state = target
    incident.version += 1
    incident.updated_at = now
    event = IncidentEvent(
        incident=incident, version=incident.version, at=now, actor_id=actor.id,
        actor_role=actor.role, actor_name=actor.name, action=action.value,
        from_state=from_state, to_state=incident.state, reason=reason, payload=payload or {},
    )
    session.add(event)
    if flush:
        flush_change(session, incident)
    return event


def flush_change(session: Session, incident: Incident) -> None:
    ident = incident.id  # read now: after a failed flush the instance cannot be read
    try:
        session.flush()
    except StaleDataError:
        raise VersionConflict(
            f"incident {ident} was changed by someone else; reload it",
            state=None, version=None,
        ) from None


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
