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

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from models.actor import Actor, check_allowed
from models.area import Area
from models.catalogue import Item
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
from models.errors import Forbidden, IllegalTransition, Invalid, NotFound
from models.incident import Breach, Incident, IncidentEvent
from models.org import Department, Staff
from models.sla import warn_time
from models.transition import (
    COUNTERS,
    TRANSITIONS,
    begin,
    coerce,
    dispute_categories,
    get_row,
    iso,
    now_or,
    record,
    require_text,
    start_clock,
)

S = State
_NEXT_LEVEL = {AreaLevel.VILLAGE: AreaLevel.TOWN, AreaLevel.TOWN: AreaLevel.CITY}


# ---------------------------------------------------------------- intake

def report(
    session: Session, actor: Actor, *, item_id: int, area_id: int, description: str,
    channel: Channel | str, priority: Priority | str | None = None,
    lon: float | None = None, lat: float | None = None, reporter_name: str | None = None,
    source: str = "local", external_id: str | None = None, now: datetime | None = None,
    flush: bool = True,
) -> Incident:
    """Create a REPORTED incident in `area_id` (a grid, or an imported city's district)."""
    now = now_or(now)
    item = get_row(session, Item, item_id, "item_id")
    area: Area = get_row(session, Area, area_id, "area_id")
    if area.level == AreaLevel.CITY:
        raise Invalid("area_id", "an incident must be placed in a grid or district, not a whole city")
    incident = Incident(
        source=source, external_id=external_id, channel=coerce("channel", Channel, channel),
        reporter_id=actor.id,
        reporter_name=require_text("reporter_name", reporter_name, required=False) or actor.name,
        item_id=item.id, category_id=item.category_id,
        priority=coerce("priority", Priority, priority) or item.default_priority,
        description=require_text("description", description, required=True),
        area_id=area.id, city_id=area.city_id or area.id, town_id=area.town_id,
        village_id=area.village_id, grid_id=area.id if area.level == AreaLevel.GRID else None,
        lon=lon, lat=lat, state=S.REPORTED, reported_at=now, updated_at=now, version=0,
        due_breached=False, **dict.fromkeys(COUNTERS, 0),
    )
    if area.level == AreaLevel.TOWN:
        incident.town_id = area.id
    incident.level = AreaLevel.VILLAGE if incident.village_id else AreaLevel.TOWN
    check_allowed(actor, Action.REPORT, incident)
    start_clock(session, incident, Stage.ACCEPT, now)
    session.add(incident)
    record(session, incident, actor, Action.REPORT, now, S.REPORTED,
            payload={"channel": incident.channel.value}, flush=flush)
    return incident


# ---------------------------------------------------------------- triage

def accept(session, incident, actor, *, expected_version, item_id=None, priority=None,
           now=None, flush=True) -> IncidentEvent:
    target = begin(incident, Action.ACCEPT, actor, expected_version)
    now = now_or(now)
    payload = {}
    if item_id is not None and item_id != incident.item_id:
        item = get_row(session, Item, item_id, "item_id")
        payload["item_id"] = [incident.item_id, item.id]
        incident.item_id, incident.category_id = item.id, item.category_id
    priority = coerce("priority", Priority, priority)
    if priority and priority != incident.priority:
        payload["priority"] = [incident.priority.value, priority.value]
        incident.priority = priority
    incident.accepted_at = now
    start_clock(session, incident, Stage.DISPATCH, now)
    return record(session, incident, actor, Action.ACCEPT, now, target, payload=payload, flush=flush)


def _set_aside(action: Action):
    def transition(session, incident, actor, *, expected_version, reason, duplicate_of_id=None,
                   now=None, flush=True) -> IncidentEvent:
        target = begin(incident, action, actor, expected_version)
        reason = require_text("reason", reason, required=True)
        payload = {}
        if action == Action.DUPLICATE:
            original = get_row(session, Incident, duplicate_of_id, "duplicate_of_id")
            if original.id == incident.id:
                raise Invalid("duplicate_of_id", "an incident cannot duplicate itself")
            incident.duplicate_of_id = payload["duplicate_of_id"] = original.id
        now = now_or(now)
        start_clock(session, incident, None, now)
        return record(session, incident, actor, action, now, target, reason=reason,
                       payload=payload, flush=flush)

    transition.__name__ = action.value.replace("-", "_")
    transition.__doc__ = f"REPORTED → {TRANSITIONS[action][1]} (needs a reason)."
    return transition


invalidate = _set_aside(Action.INVALIDATE)
mark_duplicate = _set_aside(Action.DUPLICATE)
not_ours = _set_aside(Action.NOT_OURS)


def self_handle(session, incident, actor, *, expected_version, reason, now=None, flush=True):
    """Settled on the spot by the grid worker; still reviewed before it closes."""
    target = begin(incident, Action.SELF_HANDLE, actor, expected_version)
    reason = require_text("reason", reason, required=True)
    now = now_or(now)
    incident.resolved_at = now
    start_clock(session, incident, Stage.CHECK, now)
    return record(session, incident, actor, Action.SELF_HANDLE, now, target, reason=reason, flush=flush)


# ---------------------------------------------------------------- dispatch

def _check_department(session: Session, incident: Incident, department_id, assignee_id):
    department: Department = get_row(session, Department, department_id, "department_id")
    if department.area_id not in incident.area_path():
        raise Invalid("department_id", f"department {department.id} does not cover this incident's area")
    if incident.item_id not in {i.id for i in department.items}:
        raise Invalid("department_id", f"department {department.id} does not take this item")
    if assignee_id is not None:
        person: Staff = get_row(session, Staff, assignee_id, "assignee_id")
        if person.department_id != department.id:
            raise Invalid("assignee_id", f"staff {person.id} is not in department {department.id}")
    return department


def dispatch(session, incident, actor, *, expected_version, department_id, assignee_id=None,
             deadline=None, now=None, flush=True) -> IncidentEvent:
    """Send to a department; the handling time limit starts here. `deadline` overrides the
    item's rule when the centre sets an explicit time limit."""
    target = begin(incident, Action.DISPATCH, actor, expected_version)
    _check_department(session, incident, department_id, assignee_id)
    now = now_or(now)
    if deadline is not None and (deadline.tzinfo is None or deadline <= now):
        raise Invalid("deadline", "the deadline must be a future, timezone-aware time")
    incident.department_id, incident.assignee_id = department_id, assignee_id
    incident.dispatched_at = now
    start_clock(session, incident, Stage.HANDLE, now)
    if deadline is not None:
        incident.handle_due = incident.due_at = deadline
        incident.warn_at = warn_time(now, deadline)
    return record(session, incident, actor, Action.DISPATCH, now, target, flush=flush,
                   payload={"department_id": department_id, "assignee_id": assignee_id,
                            "deadline": iso(incident.handle_due)})


def reassign(session, incident, actor, *, expected_version, department_id=None, assignee_id=None,
             reason=None, now=None, flush=True) -> IncidentEvent:
    """Change the department or person; the state and the handling deadline stay."""
    target = begin(incident, Action.REASSIGN, actor, expected_version)
    department_id = department_id or incident.department_id
    if (department_id, assignee_id) == (incident.department_id, incident.assignee_id):
        raise Invalid("department_id", "reassignment must change the department or the assignee")
    _check_department(session, incident, department_id, assignee_id)
    payload = {"department_id": [incident.department_id, department_id],
               "assignee_id": [incident.assignee_id, assignee_id]}
    incident.department_id, incident.assignee_id = department_id, assignee_id
    incident.reassign_count += 1
    return record(session, incident, actor, Action.REASSIGN, now_or(now), target,
                   reason=require_text("reason", reason, required=False), payload=payload, flush=flush)


def return_to_centre(session, incident, actor, *, expected_version, reason, now=None, flush=True):
    """The department says it is not theirs; counts against dispatch accuracy."""
    target = begin(incident, Action.RETURN, actor, expected_version)
    reason = require_text("reason", reason, required=True)
    now = now_or(now)
    payload = {"department_id": incident.department_id}
    incident.department_id = incident.assignee_id = None
    incident.return_count += 1
    start_clock(session, incident, Stage.DISPATCH, now)
    return record(session, incident, actor, Action.RETURN, now, target, reason=reason,
                   payload=payload, flush=flush)


def _step(action: Action):
    def transition(session, incident, actor, *, expected_version, reason=None, now=None, flush=True):
        target = begin(incident, action, actor, expected_version)
        return record(session, incident, actor, action, now_or(now), target,
                       reason=require_text("reason", reason, required=False), flush=flush)

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
    target = begin(incident, Action.HOLD, actor, expected_version)
    reason = require_text("reason", reason, required=True)
    now = now_or(now)
    payload: dict[str, Any] = {}
    if new_deadline is None:
        incident.held_at = now
        incident.due_at = incident.warn_at = None
    else:
        if actor.role == Role.HANDLER:
            raise Forbidden("a postponement needs a shift lead's approval", field="new_deadline")
        if new_deadline.tzinfo is None or new_deadline <= now:
            raise Invalid("new_deadline", "the new deadline must be a future, timezone-aware time")
        payload = {"new_deadline": new_deadline.isoformat(), "old_deadline": iso(incident.handle_due)}
        incident.postpone_count += 1
        incident.handle_due = incident.due_at = new_deadline
        incident.warn_at, incident.due_breached = warn_time(now, new_deadline), False
    return record(session, incident, actor, Action.HOLD, now, target, reason=reason,
                   payload=payload, flush=flush)


def resume(session, incident, actor, *, expected_version, reason=None, now=None, flush=True):
    """Back to work. A parked incident's deadline moves by the time it stood parked."""
    target = begin(incident, Action.RESUME, actor, expected_version)
    now = now_or(now)
    if incident.held_at is not None:
        incident.handle_due += now - incident.held_at
        incident.due_stage, incident.due_at = Stage.HANDLE, incident.handle_due
        incident.warn_at = warn_time(incident.dispatched_at or now, incident.handle_due)
        incident.held_at = None
    return record(session, incident, actor, Action.RESUME, now, target,
                   reason=require_text("reason", reason, required=False), flush=flush)


def resolve(session, incident, actor, *, expected_version, reason=None, now=None, flush=True):
    """The department reports it done; the on-site check clock starts."""
    target = begin(incident, Action.RESOLVE, actor, expected_version)
    now = now_or(now)
    incident.resolved_at = now
    start_clock(session, incident, Stage.CHECK, now)
    return record(session, incident, actor, Action.RESOLVE, now, target,
                   reason=require_text("reason", reason, required=False), flush=flush)


def rework(session, incident, actor, *, expected_version, reason, now=None, flush=True):
    """The check failed: back to IN_PROGRESS with the original handling deadline."""
    target = begin(incident, Action.REWORK, actor, expected_version)
    reason = require_text("reason", reason, required=True)
    now = now_or(now)
    # The original deadline is kept, so a breach of it already on record stands. Read the
    # breaches before changing anything: loading them flushes, and a racing writer must
    # surface as VersionConflict from our own flush, not from a lazy load.
    breached = any(b.stage == Stage.HANDLE and b.deadline == incident.handle_due
                   for b in incident.breaches)
    incident.rework_count += 1
    incident.resolved_at = None
    incident.due_stage, incident.due_at = Stage.HANDLE, incident.handle_due
    incident.due_breached = breached
    incident.warn_at = warn_time(incident.dispatched_at or now, incident.handle_due)
    return record(session, incident, actor, Action.REWORK, now, target, reason=reason, flush=flush)


# ---------------------------------------------------------------- closing

def close(session, incident, actor, *, expected_version, dispute_outcome=None, satisfaction=None,
          reason=None, now=None, flush=True) -> IncidentEvent:
    """Closed after the on-site check. Disputes must say whether mediation succeeded."""
    target = begin(incident, Action.CLOSE, actor, expected_version)
    outcome = coerce("dispute_outcome", DisputeOutcome, dispute_outcome)
    is_dispute = incident.category_id in dispute_categories(session)
    if is_dispute and outcome is None:
        raise Invalid("dispute_outcome", "a dispute can only be closed with its mediation outcome")
    if not is_dispute and outcome is not None:
        raise Invalid("dispute_outcome", "only disputes have a mediation outcome")
    satisfaction = coerce("satisfaction", Satisfaction, satisfaction)
    now = now_or(now)
    incident.closed_at, incident.dispute_outcome = now, outcome
    incident.satisfaction = satisfaction or incident.satisfaction
    start_clock(session, incident, None, now)
    payload = {"dispute_outcome": outcome and outcome.value,
               "satisfaction": satisfaction and satisfaction.value}
    return record(session, incident, actor, Action.CLOSE, now, target,
                   reason=require_text("reason", reason, required=False), payload=payload, flush=flush)


def rate(session, incident, actor, *, expected_version, satisfaction, now=None, flush=True):
    """Satisfaction feedback that arrives after closing."""
    target = begin(incident, Action.RATE, actor, expected_version)
    value = coerce("satisfaction", Satisfaction, satisfaction)
    if value is None:
        raise Invalid("satisfaction", "satisfaction is required")
    incident.satisfaction = value
    return record(session, incident, actor, Action.RATE, now_or(now), target,
                   payload={"satisfaction": value.value}, flush=flush)


def reopen(session, incident, actor, *, expected_version, reason, now=None, flush=True):
    target = begin(incident, Action.REOPEN, actor, expected_version)
    reason = require_text("reason", reason, required=True)
    now = now_or(now)
    incident.closed_at = incident.resolved_at = None
    incident.department_id = incident.assignee_id = None
    start_clock(session, incident, Stage.DISPATCH, now)
    return record(session, incident, actor, Action.REOPEN, now, target, reason=reason, flush=flush)


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
    target = begin(incident, Action.ESCALATE, actor, expected_version)
    reason = require_text("reason", reason, required=True)
    if incident.level not in _NEXT_LEVEL:
        raise IllegalTransition("the city level is the highest; it cannot be escalated",
                                state=incident.state, version=incident.version)
    change = _raise_level(incident)
    return record(session, incident, actor, Action.ESCALATE, now_or(now), target, reason=reason,
                   payload=change, flush=flush)


def breach(session, incident, actor, *, expected_version, stage, deadline, now=None, flush=True):
    """Record a passed deadline and escalate one level, once.

    Returns None, writing nothing, when the claim no longer holds: the stage moved on,
    the deadline changed, it has not passed yet, or this breach is already recorded.
    """
    target = begin(incident, Action.BREACH, actor, expected_version)
    incident.breaches  # load before changing anything (see rework)
    now = now_or(now)
    stage = coerce("stage", Stage, stage)
    if (incident.due_stage != stage or incident.due_at != deadline
            or incident.due_breached or deadline > now):
        return None
    incident.due_breached = True
    incident.breach_count += 1
    incident.breaches.append(Breach(stage=stage, deadline=deadline, detected_at=now))
    incident.alarm_at = now  # the wall flashes it until a shift lead acknowledges (ack_alarm)
    payload = {"stage": stage.value, "deadline": deadline.isoformat(),
               "overdue_seconds": int((now - deadline).total_seconds())}
    payload.update(_raise_level(incident) or {})
    return record(session, incident, actor, Action.BREACH, now, target, payload=payload, flush=flush)


def ack_alarm(session, incident, actor, *, expected_version, reason=None, now=None, flush=True):
    """A shift lead has seen the breach alarm, so the other walls see it has been taken:
    every unacknowledged breach is stamped with who and when, and the flash stops. The
    state stays. Refused (IllegalTransition) when there is no alarm to acknowledge.

    Only this clears `alarm_at`; no other step does. Closing takes the incident off the
    walls (its live hash goes), so the flash goes with it, while its breaches stay on record
    as never acknowledged, which is what happened; reopened, it flashes again until someone
    acknowledges it. Rework, postponement and the rest leave the alarm standing: the breach
    they follow still wants a lead's eyes. A closed incident cannot be acknowledged.
    """
    target = begin(incident, Action.ACK_ALARM, actor, expected_version)
    if incident.alarm_at is None:
        raise IllegalTransition("the incident has no unacknowledged alarm",
                                state=incident.state, version=incident.version)
    reason = require_text("reason", reason, required=False)
    # Read the breaches before changing anything (see rework).
    pending = [b for b in incident.breaches if b.acknowledged_at is None]
    now = now_or(now)
    for b in pending:
        b.acknowledged_at, b.acknowledged_by = now, actor.name
    # A breach is named by its unique key: in a batch (flush=False) it may have no id yet.
    payload = {"alarm_at": iso(incident.alarm_at),
               "breaches": [{"stage": str(b.stage), "deadline": iso(b.deadline)} for b in pending]}
    incident.alarm_at = None
    return record(session, incident, actor, Action.ACK_ALARM, now, target, reason=reason,
                   payload=payload, flush=flush)


# ---------------------------------------------------------------- by name

HANDLERS = {
    Action.ACCEPT: accept, Action.INVALIDATE: invalidate, Action.DUPLICATE: mark_duplicate,
    Action.NOT_OURS: not_ours, Action.SELF_HANDLE: self_handle, Action.DISPATCH: dispatch,
    Action.REASSIGN: reassign, Action.RETURN: return_to_centre, Action.ACKNOWLEDGE: acknowledge,
    Action.START: start, Action.HOLD: hold, Action.RESUME: resume, Action.RESOLVE: resolve,
    Action.REWORK: rework, Action.CLOSE: close, Action.RATE: rate, Action.REOPEN: reopen,
    Action.ESCALATE: escalate, Action.ACK_ALARM: ack_alarm,
}


def get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident with id {incident_id}", field="id")
    return incident


def apply(session: Session, incident_id: int, action: Action | str, actor: Actor, *,
          expected_version: int, **params) -> IncidentEvent:
    """Apply one named step to a stored incident (what the API calls)."""
    action = coerce("action", Action, action)
    if action not in HANDLERS:
        raise Invalid("action", f"{action} is not an action a person can take")
    incident = get_incident(session, incident_id)
    return HANDLERS[action](session, incident, actor, expected_version=expected_version, **params)
