"""The closed loop of DOMAIN.md as transition functions.

Every function checks, in this order, that the actor's role and jurisdiction allow the
action (Forbidden), that the caller read the current version (VersionConflict) and that
the action is legal from the current state (IllegalTransition), then validates its
arguments (Invalid). Only then does it change the incident and add its audit event, so
a failed call leaves the session exactly as it found it. The caller owns the transaction:
it commits the incident and its event together. A VersionConflict raised by the flush
(someone committed in between) leaves the session needing a rollback.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from models.actor import Actor, check_allowed
from models.area import Area
from models.catalogue import Category, Item
from models.enums import (
    Action,
    AreaLevel,
    Channel,
    DisputeOutcome,
    Priority,
    Role,
    Satisfaction,
    Stage,
    State,
)
from models.errors import Forbidden, IllegalTransition, Invalid, NotFound, VersionConflict
from models.incident import Breach, Incident, IncidentEvent
from models.org import Department, Staff
from models.sla import deadline_after, get_policy, warn_time
from models.types import utcnow

S = State
_WORKING = frozenset({S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.ON_HOLD})
_OPEN = frozenset(State) - {S.CLOSED, S.INVALID, S.DUPLICATE, S.NOT_OURS}

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
    Action.REASSIGN: (_WORKING, None),
    Action.ESCALATE: (_OPEN, None),
    Action.BREACH: (_OPEN, None),
}

_NEXT_LEVEL = {AreaLevel.VILLAGE: AreaLevel.TOWN, AreaLevel.TOWN: AreaLevel.CITY}
MAX_TEXT = 4000
_COUNTERS = ("breach_count", "escalation_count", "reassign_count", "return_count",
             "rework_count", "postpone_count")


# ---------------------------------------------------------------- helpers

def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _begin(incident: Incident, action: Action, actor: Actor, expected_version: int) -> State | None:
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


def _text(field: str, value: str | None, *, required: bool) -> str | None:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(field, f"{field} is required")
    if len(value) > MAX_TEXT:
        raise Invalid(field, f"{field} is longer than {MAX_TEXT} characters")
    return value or None


def _enum(field: str, enum_cls, value):
    if value is None or isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise Invalid(field, f"{value!r} is not one of: {allowed}") from None


def _get(session: Session, model, ident: int | None, field: str):
    row = session.get(model, ident) if ident is not None else None
    if row is None:
        raise Invalid(field, f"no {model.__tablename__} with id {ident}")
    return row


def _set_due(session: Session, incident: Incident, stage: Stage | None, start: datetime) -> None:
    """Start the clock of `stage` at `start` (None stops all clocks)."""
    incident.due_stage, incident.due_breached = stage, False
    if stage is None:
        incident.due_at = incident.warn_at = None
        return
    limit = get_policy(session).resolve(stage, incident.priority, incident.item_id, incident.category_id)
    due = deadline_after(start, limit)
    setattr(incident, f"{stage.value}_due", due)
    incident.due_at, incident.warn_at = due, warn_time(start, due)


def _dispute_categories(session: Session) -> frozenset[int]:
    """Ids of the dispute categories, read once per session like the time-limit rules."""
    if "dispute_categories" not in session.info:
        ids = session.scalars(select(Category.id).where(Category.is_dispute))
        session.info["dispute_categories"] = frozenset(ids)
    return session.info["dispute_categories"]


def _complete_stage(incident: Incident, now: datetime) -> None:
    """Note how far over a breached stage ran, now that it is done."""
    if not incident.due_breached:
        return
    for record in incident.breaches:
        if record.completed_at is None:
            record.completed_at = now
            record.overdue_seconds = int((now - record.deadline).total_seconds())


def _record(
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
        _flush(session, incident)
    return event


def _flush(session: Session, incident: Incident) -> None:
    ident = incident.id  # read now: after a failed flush the instance cannot be read
    try:
        session.flush()
    except StaleDataError:
        raise VersionConflict(
            f"incident {ident} was changed by someone else; reload it",
            state=None, version=None,
        ) from None


# ---------------------------------------------------------------- intake

def report(
    session: Session, actor: Actor, *, item_id: int, area_id: int, description: str,
    channel: Channel | str, priority: Priority | str | None = None,
    lon: float | None = None, lat: float | None = None, reporter_name: str | None = None,
    source: str = "local", external_id: str | None = None, now: datetime | None = None,
    flush: bool = True,
) -> Incident:
    """Create a REPORTED incident in `area_id` (a grid, or an imported city's district)."""
    now = _now(now)
    item = _get(session, Item, item_id, "item_id")
    area: Area = _get(session, Area, area_id, "area_id")
    if area.level == AreaLevel.CITY:
        raise Invalid("area_id", "an incident must be placed in a grid or district, not a whole city")
    incident = Incident(
        source=source, external_id=external_id, channel=_enum("channel", Channel, channel),
        reporter_id=actor.id,
        reporter_name=_text("reporter_name", reporter_name, required=False) or actor.name,
        item_id=item.id, category_id=item.category_id,
        priority=_enum("priority", Priority, priority) or item.default_priority,
        description=_text("description", description, required=True),
        area_id=area.id, city_id=area.city_id or area.id, town_id=area.town_id,
        village_id=area.village_id, grid_id=area.id if area.level == AreaLevel.GRID else None,
        lon=lon, lat=lat, state=S.REPORTED, reported_at=now, updated_at=now, version=0,
        due_breached=False, **dict.fromkeys(_COUNTERS, 0),
    )
    if area.level == AreaLevel.TOWN:
        incident.town_id = area.id
    incident.level = AreaLevel.VILLAGE if incident.village_id else AreaLevel.TOWN
    check_allowed(actor, Action.REPORT, incident)
    _set_due(session, incident, Stage.ACCEPT, now)
    session.add(incident)
    _record(session, incident, actor, Action.REPORT, now, S.REPORTED,
            payload={"channel": incident.channel.value}, flush=flush)
    return incident


# ---------------------------------------------------------------- triage

def accept(session, incident, actor, *, expected_version, item_id=None, priority=None,
           now=None, flush=True) -> IncidentEvent:
    target = _begin(incident, Action.ACCEPT, actor, expected_version)
    now = _now(now)
    payload = {}
    if item_id is not None and item_id != incident.item_id:
        item = _get(session, Item, item_id, "item_id")
        payload["item_id"] = [incident.item_id, item.id]
        incident.item_id, incident.category_id = item.id, item.category_id
    priority = _enum("priority", Priority, priority)
    if priority and priority != incident.priority:
        payload["priority"] = [incident.priority.value, priority.value]
        incident.priority = priority
    incident.accepted_at = now
    _set_due(session, incident, Stage.DISPATCH, now)
    return _record(session, incident, actor, Action.ACCEPT, now, target, payload=payload, flush=flush)


def _set_aside(action: Action):
    def transition(session, incident, actor, *, expected_version, reason, duplicate_of_id=None,
                   now=None, flush=True) -> IncidentEvent:
        target = _begin(incident, action, actor, expected_version)
        reason = _text("reason", reason, required=True)
        payload = {}
        if action == Action.DUPLICATE:
            original = _get(session, Incident, duplicate_of_id, "duplicate_of_id")
            if original.id == incident.id:
                raise Invalid("duplicate_of_id", "an incident cannot duplicate itself")
            incident.duplicate_of_id = payload["duplicate_of_id"] = original.id
        now = _now(now)
        _set_due(session, incident, None, now)
        return _record(session, incident, actor, action, now, target, reason=reason,
                       payload=payload, flush=flush)

    transition.__name__ = action.value.replace("-", "_")
    transition.__doc__ = f"REPORTED → {TRANSITIONS[action][1]} (needs a reason)."
    return transition


invalidate = _set_aside(Action.INVALIDATE)
mark_duplicate = _set_aside(Action.DUPLICATE)
not_ours = _set_aside(Action.NOT_OURS)


def self_handle(session, incident, actor, *, expected_version, reason, now=None, flush=True):
    """Settled on the spot by the grid worker; still reviewed before it closes."""
    target = _begin(incident, Action.SELF_HANDLE, actor, expected_version)
    reason = _text("reason", reason, required=True)
    now = _now(now)
    incident.resolved_at = now
    _set_due(session, incident, Stage.CHECK, now)
    return _record(session, incident, actor, Action.SELF_HANDLE, now, target, reason=reason, flush=flush)


# ---------------------------------------------------------------- dispatch

def _check_department(session: Session, incident: Incident, department_id, assignee_id):
    department: Department = _get(session, Department, department_id, "department_id")
    if department.area_id not in incident.area_path():
        raise Invalid("department_id", f"department {department.id} does not cover this incident's area")
    if incident.item_id not in {i.id for i in department.items}:
        raise Invalid("department_id", f"department {department.id} does not take this item")
    if assignee_id is not None:
        person: Staff = _get(session, Staff, assignee_id, "assignee_id")
        if person.department_id != department.id:
            raise Invalid("assignee_id", f"staff {person.id} is not in department {department.id}")
    return department


def dispatch(session, incident, actor, *, expected_version, department_id, assignee_id=None,
             deadline=None, now=None, flush=True) -> IncidentEvent:
    """Send to a department; the handling time limit starts here. `deadline` overrides the
    item's rule when the centre sets an explicit time limit."""
    target = _begin(incident, Action.DISPATCH, actor, expected_version)
    _check_department(session, incident, department_id, assignee_id)
    now = _now(now)
    if deadline is not None and (deadline.tzinfo is None or deadline <= now):
        raise Invalid("deadline", "the deadline must be a future, timezone-aware time")
    _complete_stage(incident, now)
    incident.department_id, incident.assignee_id = department_id, assignee_id
    incident.dispatched_at = now
    _set_due(session, incident, Stage.HANDLE, now)
    if deadline is not None:
        incident.handle_due = incident.due_at = deadline
        incident.warn_at = warn_time(now, deadline)
    return _record(session, incident, actor, Action.DISPATCH, now, target, flush=flush,
                   payload={"department_id": department_id, "assignee_id": assignee_id,
                            "deadline": _iso(incident.handle_due)})


def reassign(session, incident, actor, *, expected_version, department_id=None, assignee_id=None,
             reason=None, now=None, flush=True) -> IncidentEvent:
    """Change the department or person; the state and the handling deadline stay."""
    target = _begin(incident, Action.REASSIGN, actor, expected_version)
    department_id = department_id or incident.department_id
    if (department_id, assignee_id) == (incident.department_id, incident.assignee_id):
        raise Invalid("department_id", "reassignment must change the department or the assignee")
    _check_department(session, incident, department_id, assignee_id)
    payload = {"department_id": [incident.department_id, department_id],
               "assignee_id": [incident.assignee_id, assignee_id]}
    incident.department_id, incident.assignee_id = department_id, assignee_id
    incident.reassign_count += 1
    return _record(session, incident, actor, Action.REASSIGN, _now(now), target,
                   reason=_text("reason", reason, required=False), payload=payload, flush=flush)


def return_to_centre(session, incident, actor, *, expected_version, reason, now=None, flush=True):
    """The department says it is not theirs; counts against dispatch accuracy."""
    target = _begin(incident, Action.RETURN, actor, expected_version)
    reason = _text("reason", reason, required=True)
    now = _now(now)
    payload = {"department_id": incident.department_id}
    incident.department_id = incident.assignee_id = None
    incident.return_count += 1
    _set_due(session, incident, Stage.DISPATCH, now)
    return _record(session, incident, actor, Action.RETURN, now, target, reason=reason,
                   payload=payload, flush=flush)


def _step(action: Action):
    def transition(session, incident, actor, *, expected_version, reason=None, now=None, flush=True):
        target = _begin(incident, action, actor, expected_version)
        return _record(session, incident, actor, action, _now(now), target,
                       reason=_text("reason", reason, required=False), flush=flush)

    transition.__name__ = action.value
    transition.__doc__ = f"{' or '.join(sorted(TRANSITIONS[action][0]))} → {TRANSITIONS[action][1]}."
    return transition


acknowledge = _step(Action.ACKNOWLEDGE)
start = _step(Action.START)


# ---------------------------------------------------------------- handling

def hold(session, incident, actor, *, expected_version, reason, new_deadline=None, now=None,
         flush=True) -> IncidentEvent:
    """Postpone to an approved new deadline (the clock runs on to it), or park on the
    visible register with a reason (the clock stops until resumed)."""
    target = _begin(incident, Action.HOLD, actor, expected_version)
    reason = _text("reason", reason, required=True)
    now = _now(now)
    payload: dict[str, Any] = {}
    if new_deadline is None:
        incident.held_at = now
        incident.due_at = incident.warn_at = None
    else:
        if actor.role == Role.HANDLER:
            raise Forbidden("a postponement needs a shift lead's approval", field="new_deadline")
        if new_deadline.tzinfo is None or new_deadline <= now:
            raise Invalid("new_deadline", "the new deadline must be a future, timezone-aware time")
        payload = {"new_deadline": new_deadline.isoformat(), "old_deadline": _iso(incident.handle_due)}
        incident.postpone_count += 1
        incident.handle_due = incident.due_at = new_deadline
        incident.warn_at, incident.due_breached = warn_time(now, new_deadline), False
    return _record(session, incident, actor, Action.HOLD, now, target, reason=reason,
                   payload=payload, flush=flush)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def resume(session, incident, actor, *, expected_version, reason=None, now=None, flush=True):
    """Back to work. A parked incident's deadline moves by the time it stood parked."""
    target = _begin(incident, Action.RESUME, actor, expected_version)
    now = _now(now)
    if incident.held_at is not None:
        incident.handle_due += now - incident.held_at
        incident.due_stage, incident.due_at = Stage.HANDLE, incident.handle_due
        incident.warn_at = warn_time(incident.dispatched_at or now, incident.handle_due)
        incident.held_at = None
    return _record(session, incident, actor, Action.RESUME, now, target,
                   reason=_text("reason", reason, required=False), flush=flush)


def resolve(session, incident, actor, *, expected_version, reason=None, now=None, flush=True):
    """The department reports it done; the on-site check clock starts."""
    target = _begin(incident, Action.RESOLVE, actor, expected_version)
    now = _now(now)
    _complete_stage(incident, now)
    incident.resolved_at = now
    _set_due(session, incident, Stage.CHECK, now)
    return _record(session, incident, actor, Action.RESOLVE, now, target,
                   reason=_text("reason", reason, required=False), flush=flush)


def rework(session, incident, actor, *, expected_version, reason, now=None, flush=True):
    """The check failed: back to IN_PROGRESS with the original handling deadline."""
    target = _begin(incident, Action.REWORK, actor, expected_version)
    reason = _text("reason", reason, required=True)
    now = _now(now)
    incident.rework_count += 1
    incident.resolved_at = None
    incident.due_stage, incident.due_at = Stage.HANDLE, incident.handle_due
    # The original deadline is kept, so a breach of it already on record stands.
    incident.due_breached = any(b.stage == Stage.HANDLE and b.deadline == incident.handle_due
                                for b in incident.breaches)
    incident.warn_at = warn_time(incident.dispatched_at or now, incident.handle_due)
    return _record(session, incident, actor, Action.REWORK, now, target, reason=reason, flush=flush)


# ---------------------------------------------------------------- closing

def close(session, incident, actor, *, expected_version, dispute_outcome=None, satisfaction=None,
          reason=None, now=None, flush=True) -> IncidentEvent:
    """Closed after the on-site check. Disputes must say whether mediation succeeded."""
    target = _begin(incident, Action.CLOSE, actor, expected_version)
    outcome = _enum("dispute_outcome", DisputeOutcome, dispute_outcome)
    is_dispute = incident.category_id in _dispute_categories(session)
    if is_dispute and outcome is None:
        raise Invalid("dispute_outcome", "a dispute can only be closed with its mediation outcome")
    if not is_dispute and outcome is not None:
        raise Invalid("dispute_outcome", "only disputes have a mediation outcome")
    satisfaction = _enum("satisfaction", Satisfaction, satisfaction)
    now = _now(now)
    _complete_stage(incident, now)
    incident.closed_at, incident.dispute_outcome = now, outcome
    incident.satisfaction = satisfaction or incident.satisfaction
    _set_due(session, incident, None, now)
    payload = {"dispute_outcome": outcome and outcome.value,
               "satisfaction": satisfaction and satisfaction.value}
    return _record(session, incident, actor, Action.CLOSE, now, target,
                   reason=_text("reason", reason, required=False), payload=payload, flush=flush)


def rate(session, incident, actor, *, expected_version, satisfaction, now=None, flush=True):
    """Satisfaction feedback that arrives after closing."""
    target = _begin(incident, Action.RATE, actor, expected_version)
    value = _enum("satisfaction", Satisfaction, satisfaction)
    if value is None:
        raise Invalid("satisfaction", "satisfaction is required")
    incident.satisfaction = value
    return _record(session, incident, actor, Action.RATE, _now(now), target,
                   payload={"satisfaction": value.value}, flush=flush)


def reopen(session, incident, actor, *, expected_version, reason, now=None, flush=True):
    target = _begin(incident, Action.REOPEN, actor, expected_version)
    reason = _text("reason", reason, required=True)
    now = _now(now)
    incident.closed_at = incident.resolved_at = None
    incident.department_id = incident.assignee_id = None
    _set_due(session, incident, Stage.DISPATCH, now)
    return _record(session, incident, actor, Action.REOPEN, now, target, reason=reason, flush=flush)


# ---------------------------------------------------------------- escalation

def _raise_level(incident: Incident) -> dict[str, str] | None:
    higher = _NEXT_LEVEL.get(incident.level)
    if higher is None:
        return None
    change = {"from_level": incident.level.value, "to_level": higher.value}
    incident.level = higher
    incident.escalation_count += 1
    return change


def escalate(session, incident, actor, *, expected_version, reason, now=None, flush=True):
    """By hand: move the owning level up one step (village → town → city)."""
    target = _begin(incident, Action.ESCALATE, actor, expected_version)
    reason = _text("reason", reason, required=True)
    if incident.level not in _NEXT_LEVEL:
        raise IllegalTransition("the city level is the highest; it cannot be escalated",
                                state=incident.state, version=incident.version)
    change = _raise_level(incident)
    return _record(session, incident, actor, Action.ESCALATE, _now(now), target, reason=reason,
                   payload=change, flush=flush)


def breach(session, incident, actor, *, expected_version, stage, deadline, now=None, flush=True):
    """Record a passed deadline and escalate one level, once.

    Returns None, writing nothing, when the claim no longer holds: the stage moved on,
    the deadline changed, it has not passed yet, or this breach is already recorded.
    """
    target = _begin(incident, Action.BREACH, actor, expected_version)
    now = _now(now)
    stage = _enum("stage", Stage, stage)
    if (incident.due_stage != stage or incident.due_at != deadline
            or incident.due_breached or deadline > now):
        return None
    incident.due_breached = True
    incident.breach_count += 1
    incident.breaches.append(Breach(stage=stage, deadline=deadline, detected_at=now))
    payload = {"stage": stage.value, "deadline": deadline.isoformat(),
               "overdue_seconds": int((now - deadline).total_seconds())}
    payload.update(_raise_level(incident) or {})
    return _record(session, incident, actor, Action.BREACH, now, target, payload=payload, flush=flush)


# ---------------------------------------------------------------- by name

HANDLERS = {
    Action.ACCEPT: accept, Action.INVALIDATE: invalidate, Action.DUPLICATE: mark_duplicate,
    Action.NOT_OURS: not_ours, Action.SELF_HANDLE: self_handle, Action.DISPATCH: dispatch,
    Action.REASSIGN: reassign, Action.RETURN: return_to_centre, Action.ACKNOWLEDGE: acknowledge,
    Action.START: start, Action.HOLD: hold, Action.RESUME: resume, Action.RESOLVE: resolve,
    Action.REWORK: rework, Action.CLOSE: close, Action.RATE: rate, Action.REOPEN: reopen,
    Action.ESCALATE: escalate,
}


def get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident with id {incident_id}", field="id")
    return incident


def apply(session: Session, incident_id: int, action: Action | str, actor: Actor, *,
          expected_version: int, **params) -> IncidentEvent:
    """Apply one named step to a stored incident (what the API calls)."""
    action = _enum("action", Action, action)
    if action not in HANDLERS:
        raise Invalid("action", f"{action} is not an action a person can take")
    incident = get_incident(session, incident_id)
    return HANDLERS[action](session, incident, actor, expected_version=expected_version, **params)
