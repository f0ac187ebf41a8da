"""Shift handover: the outgoing lead's summary of their shift, and the incoming lead's
acknowledgement. Both steps are rows of models.org.ShiftHandover (who, when); the summary
is computed from SQL when the outgoing lead submits and is frozen as written.

A shift starts when the lead last took over at this centre (acknowledged a handover here)
or last handed over here, whichever is later; with neither in the last SHIFT_LONGEST, it is
the last SHIFT_HOURS. The counts, over the lead's jurisdiction:
- new: incidents reported during the shift (set-asides included: they were work too);
- closed: incidents closed during the shift;
- escalated: incidents raised a level during the shift, by hand or by a breach;
- open, overdue, alarms: open incidents at the end of the shift, those past their running
  deadline, and those with a breach alarm no lead has acknowledged.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dashboard.console.actions import require_console_actor
from dashboard.console.queries import OPEN_STATES, get_jurisdiction
from models.actor import Actor
from models.enums import Action
from models.errors import Forbidden, IllegalTransition, Invalid, NotFound
from models.incident import Incident, IncidentEvent
from models.org import ShiftHandover, Staff
from models.transition import MAX_TEXT

SHIFT_HOURS = 8
SHIFT_LONGEST = timedelta(hours=24)
OVERDUE_LISTED = 20


def get_shift_start(session: Session, actor: Actor, now: datetime) -> datetime:
    here = (ShiftHandover.area_id == actor.area_id)
    took_over = session.scalar(select(func.max(ShiftHandover.acknowledged_at))
                               .where(here, ShiftHandover.incoming_id == actor.id))
    handed_over = session.scalar(select(func.max(ShiftHandover.shift_end))
                                 .where(here, ShiftHandover.outgoing_id == actor.id))
    recent = [m for m in (took_over, handed_over) if m is not None and now - SHIFT_LONGEST <= m <= now]
    return max(recent) if recent else now - timedelta(hours=SHIFT_HOURS)


def count_incidents(session: Session, *conditions) -> int:
    return session.scalar(select(func.count()).select_from(Incident).where(*conditions)) or 0


def list_event_incidents(session: Session, actor: Actor, actions, start: datetime,
                         end: datetime) -> list[tuple[int, str, dict]]:
    query = (select(IncidentEvent.incident_id, IncidentEvent.action, IncidentEvent.payload)
             .join(Incident, Incident.id == IncidentEvent.incident_id)
             .where(get_jurisdiction(session, actor), IncidentEvent.action.in_(actions),
                    IncidentEvent.at >= start, IncidentEvent.at < end))
    return [tuple(row) for row in session.execute(query)]


def get_shift_summary(session: Session, actor: Actor, start: datetime, end: datetime) -> dict:
    mine = get_jurisdiction(session, actor)
    is_open = Incident.state.in_(OPEN_STATES)
    overdue = (Incident.due_at.is_not(None), Incident.due_at < end)
    closed = {i for i, _, _ in list_event_incidents(session, actor, [Action.CLOSE], start, end)}
    raised = {i for i, action, payload in list_event_incidents(
        session, actor, [Action.ESCALATE, Action.BREACH], start, end)
        if action == Action.ESCALATE or (payload or {}).get("to_level")}
    overdue_ids = list(session.scalars(select(Incident.id).where(mine, is_open, *overdue)
                                       .order_by(Incident.due_at, Incident.id).limit(OVERDUE_LISTED)))
    return {
        "new": count_incidents(session, mine, Incident.reported_at >= start, Incident.reported_at < end),
        "closed": len(closed),
        "open": count_incidents(session, mine, is_open),
        "overdue": count_incidents(session, mine, is_open, *overdue),
        "escalated": len(raised),
        "alarms": count_incidents(session, mine, is_open, Incident.alarm_at.is_not(None)),
        "overdue_ids": overdue_ids,
    }


def do_handover(session: Session, actor: Actor, notes: str | None, now: datetime) -> ShiftHandover:
    """Record the outgoing lead's handover (the caller commits)."""
    require_console_actor(actor)
    if actor.id is None or actor.area_id is None:
        raise Forbidden("only a person with a centre can hand over a shift")
    notes = (notes or "").strip()
    if len(notes) > MAX_TEXT:
        raise Invalid("notes", f"notes are longer than {MAX_TEXT} characters")
    start = get_shift_start(session, actor, now)
    handover = ShiftHandover(area_id=actor.area_id, outgoing_id=actor.id, shift_start=start,
                             shift_end=now, summary=get_shift_summary(session, actor, start, now),
                             notes=notes, created_at=now)
    session.add(handover)
    session.flush()
    return handover


def list_pending_handovers(session: Session, actor: Actor) -> list[tuple[ShiftHandover, str]]:
    """Handovers at the actor's centre not yet acknowledged, newest first, with the outgoing
    lead's name (the actor's own are listed too, to show they are still waiting)."""
    query = (select(ShiftHandover, Staff.name).join(Staff, Staff.id == ShiftHandover.outgoing_id)
             .where(ShiftHandover.area_id == actor.area_id, ShiftHandover.acknowledged_at.is_(None))
             .order_by(ShiftHandover.created_at.desc(), ShiftHandover.id.desc()))
    return [(row, name) for row, name in session.execute(query)]


def acknowledge_handover(session: Session, actor: Actor, handover_id: int,
                         now: datetime) -> ShiftHandover:
    """The incoming lead takes over (the caller commits). A conditional update: of two leads
    acknowledging at once, one records it and the other is told it is already taken."""
    require_console_actor(actor)
    handover = session.get(ShiftHandover, handover_id)
    if handover is None:
        raise NotFound(f"no handover {handover_id}", field="id")
    if handover.area_id != actor.area_id:
        raise Forbidden(f"handover {handover_id} belongs to another centre", field="id")
    if handover.outgoing_id == actor.id:
        raise Invalid("id", "the incoming lead acknowledges a handover, not the one who wrote it")
    claimed = session.execute(
        update(ShiftHandover).where(ShiftHandover.id == handover_id,
                                    ShiftHandover.acknowledged_at.is_(None))
        .values(incoming_id=actor.id, acknowledged_at=now)).rowcount
    if claimed != 1:
        raise IllegalTransition(f"handover {handover_id} has already been acknowledged",
                                state=None, version=None)
    session.refresh(handover)
    return handover
