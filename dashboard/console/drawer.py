"""What the incident drawer shows, as plain data: the incident, its whole audit timeline, its
place on the map, the time-limit status of each stage, and where it could be dispatched.

Stage status is derived, not stored. The incident keeps each stage's latest deadline
(accept_due … check_due), the running one (due_stage, due_at, warn_at, due_breached, held_at)
and its Breach rows; the events say when each stage started and ended. A stage starts and
the one before it ends on the same events as models.transition.start_clock is called on:
report starts accept; accept, return and reopen start dispatch; dispatch and rework start
handle; resolve and self-handle start check; set-asides and close stop the clock. A stage
can run more than once (returned, reworked): the drawer shows its latest round and counts them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.console.queries import list_department_names
from models.actor import Actor
from models.area import Area
from models.enums import Action, Stage
from models.errors import Forbidden, NotFound
from models.incident import Breach, Incident, IncidentEvent
from models.routing import list_candidate_departments
from models.transition import dispute_categories

STARTS: dict[str, Stage] = {
    Action.REPORT: Stage.ACCEPT, Action.ACCEPT: Stage.DISPATCH, Action.RETURN: Stage.DISPATCH,
    Action.REOPEN: Stage.DISPATCH, Action.DISPATCH: Stage.HANDLE, Action.REWORK: Stage.HANDLE,
    Action.RESOLVE: Stage.CHECK, Action.SELF_HANDLE: Stage.CHECK,
}
STOPS = frozenset({Action.INVALIDATE, Action.DUPLICATE, Action.NOT_OURS, Action.CLOSE})


class StageStatus(StrEnum):
    NOT_STARTED = "not_started"
    RUNNING = "running"
    AMBER = "amber"          # running, past 75% of its window
    PAUSED = "paused"        # parked on hold: the clock stands still
    ON_TIME = "on_time"      # completed by its deadline
    BREACHED = "breached"    # past its deadline (still running, or completed late)


@dataclass
class Round:
    started_at: datetime
    completed_at: datetime | None = None


@dataclass(frozen=True)
class StageRow:
    stage: Stage
    status: StageStatus
    deadline: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    over_seconds: int | None = None
    rounds: int = 0


@dataclass(frozen=True)
class Location:
    lon: float | None
    lat: float | None
    area_id: int | None = None
    area_code: str | None = None
    name_zh: str | None = None
    name_en: str | None = None
    geometry: dict | None = None


@dataclass
class Drawer:
    incident: Incident
    events: list[IncidentEvent]
    stages: list[StageRow]
    location: Location
    candidates: list[tuple[int, str, str]]          # (id, name_zh, name_en), routing order
    departments: dict[int, tuple[str, str]] = field(default_factory=dict)  # names in events
    is_dispute: bool = False

    @property
    def suggestion(self) -> int | None:
        """The first routing candidate: what the dispatch form preselects."""
        return self.candidates[0][0] if self.candidates else None


# ---------------------------------------------------------------- stages

def list_stage_rounds(events: list[IncidentEvent]) -> dict[Stage, list[Round]]:
    """Each stage's rounds, from the events in order (see the module docstring)."""
    rounds: dict[Stage, list[Round]] = {stage: [] for stage in Stage}
    running: Stage | None = None
    for event in events:
        if event.action not in STARTS and event.action not in STOPS:
            continue
        if running is not None:
            rounds[running][-1].completed_at = event.at
        running = STARTS.get(event.action)
        if running is not None:
            rounds[running].append(Round(event.at))
    return rounds


def get_running_status(incident: Incident, now: datetime) -> tuple[StageStatus, int | None]:
    if incident.held_at is not None:
        return StageStatus.PAUSED, None
    if incident.due_at is not None and incident.due_at <= now:
        return StageStatus.BREACHED, int((now - incident.due_at).total_seconds())
    if incident.due_breached:
        return StageStatus.BREACHED, None
    if incident.warn_at is not None and incident.warn_at <= now:
        return StageStatus.AMBER, None
    return StageStatus.RUNNING, None


def get_done_status(stage: Stage, last: Round, deadline: datetime | None,
                    breaches: list[Breach]) -> tuple[StageStatus, int | None]:
    """A completed round is breached when a breach of the stage was recorded during it, or
    when it ended after its deadline (before the timer noticed)."""
    during = [b for b in breaches if b.stage == stage and last.started_at <= b.detected_at
              and (last.completed_at is None or b.detected_at <= last.completed_at)]
    if during:
        over = [b.overdue_seconds for b in during if b.overdue_seconds is not None]
        return StageStatus.BREACHED, max(over) if over else None
    if deadline is not None and last.completed_at is not None and last.completed_at > deadline:
        return StageStatus.BREACHED, int((last.completed_at - deadline).total_seconds())
    return StageStatus.ON_TIME, None


def list_stage_status(incident: Incident, events: list[IncidentEvent], breaches: list[Breach],
                      now: datetime) -> list[StageRow]:
    """Accept, dispatch, handle and check, each with its latest round's status."""
    rows = []
    for stage, rounds in list_stage_rounds(events).items():
        if not rounds:
            rows.append(StageRow(stage, StageStatus.NOT_STARTED))
            continue
        last, deadline = rounds[-1], getattr(incident, f"{stage.value}_due")
        if last.completed_at is None and incident.due_stage == stage:
            status, over = get_running_status(incident, now)
        elif last.completed_at is None:
            status, over = StageStatus.RUNNING, None  # its clock was never started (old data)
        else:
            status, over = get_done_status(stage, last, deadline, breaches)
        rows.append(StageRow(stage, status, deadline, last.started_at, last.completed_at, over,
                             len(rounds)))
    return rows


# ---------------------------------------------------------------- the drawer

def get_covered_incident(session: Session, actor: Actor, incident_id: int) -> Incident:
    """The incident, if the actor's jurisdiction covers it (NotFound / Forbidden otherwise)."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident with id {incident_id}", field="id")
    if not actor.covers(incident):
        raise Forbidden(f"incident {incident_id} is outside {actor.name}'s jurisdiction", field="id")
    return incident


def list_events(session: Session, incident_id: int) -> list[IncidentEvent]:
    return list(session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                                .order_by(IncidentEvent.id)))


def get_latest_event(session: Session, incident_id: int) -> IncidentEvent | None:
    return session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                           .order_by(IncidentEvent.id.desc()).limit(1)).first()


def get_location(session: Session, incident: Incident) -> Location:
    """The reported point and the boundary of its grid (or district), simplified for screens."""
    area = session.get(Area, incident.grid_id or incident.area_id)
    if area is None:
        return Location(incident.lon, incident.lat)
    return Location(incident.lon, incident.lat, area.id, area.code, area.name_zh,
                    area.name_en or area.name_zh, area.geometry_simplified or area.geometry)


def list_event_departments(events: list[IncidentEvent]) -> set[int]:
    """Department ids named in the events' payloads (dispatch, reassign, return)."""
    ids: set[int] = set()
    for event in events:
        value = (event.payload or {}).get("department_id")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int):
                ids.add(item)
    return ids


def get_drawer(session: Session, actor: Actor, incident_id: int, now: datetime) -> Drawer:
    incident = get_covered_incident(session, actor, incident_id)
    events = list_events(session, incident.id)
    candidate_ids = list_candidate_departments(session, incident)
    names = list_department_names(
        session, set(candidate_ids) | list_event_departments(events) | {incident.department_id})
    candidates = [(i, *names[i]) for i in candidate_ids if i in names]
    return Drawer(incident=incident, events=events,
                  stages=list_stage_status(incident, events, list(incident.breaches), now),
                  location=get_location(session, incident), candidates=candidates,
                  departments=names, is_dispute=incident.category_id in dispute_categories(session))
