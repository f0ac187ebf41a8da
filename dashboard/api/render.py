"""Incidents and events as the JSON the API returns (shapes: schemas.IncidentOut, EventOut).
Datetimes are ISO 8601 in UTC with their offset."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from dashboard.api.reference import Reference
from models import Incident, IncidentEvent


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def is_overdue(incident: Incident, now: datetime) -> bool:
    return incident.is_open and incident.due_at is not None and incident.due_at < now


def build_incident(session: Session, ref: Reference, incident: Incident, now: datetime) -> dict:
    i = incident
    codes = {f"{level}_code": ref.get_area_code(session, getattr(i, f"{level}_id"))
             for level in ("area", "town", "village", "grid")}
    return {
        "id": i.id, "version": i.version, "state": i.state.value, "level": i.level.value,
        "item_code": ref.get_item_code(session, i.item_id),
        "category": ref.categories[i.category_id].key, "priority": i.priority.value,
        "description": i.description, "channel": i.channel.value, "source": i.source,
        "client_ref": i.external_id, "reporter_name": i.reporter_name, **codes,
        "lon": i.lon, "lat": i.lat, "department_id": i.department_id, "assignee_id": i.assignee_id,
        "reported_at": iso(i.reported_at), "accepted_at": iso(i.accepted_at),
        "dispatched_at": iso(i.dispatched_at), "resolved_at": iso(i.resolved_at),
        "closed_at": iso(i.closed_at), "updated_at": iso(i.updated_at),
        "due_stage": i.due_stage and i.due_stage.value, "due_at": iso(i.due_at),
        "warn_at": iso(i.warn_at), "due_breached": i.due_breached, "overdue": is_overdue(i, now),
        "alarm_at": iso(i.alarm_at),
        "breach_count": i.breach_count, "escalation_count": i.escalation_count,
        "reassign_count": i.reassign_count, "return_count": i.return_count,
        "rework_count": i.rework_count, "postpone_count": i.postpone_count,
        "dispute_outcome": i.dispute_outcome and i.dispute_outcome.value,
        "satisfaction": i.satisfaction and i.satisfaction.value,
    }


def build_event(event: IncidentEvent) -> dict:
    return {
        "id": event.id, "version": event.version, "at": iso(event.at), "action": event.action,
        "from_state": event.from_state and event.from_state.value, "to_state": event.to_state.value,
        "actor_name": event.actor_name, "actor_role": event.actor_role.value,
        "reason": event.reason, "payload": event.payload or {},
    }
