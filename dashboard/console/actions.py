"""The console's actions: the lifecycle functions with the lead as actor, the version the
lead saw as expected_version, committed then published exactly as the REST API does.

Each action is one transaction in `dashboard.api.context.writing` (commit, then the live
publisher brings Redis up to date, so the walls see it through the live feed). A batch
reassignment is one transaction per incident with its own expected version, so one stale
row never blocks the others. Nothing raises to the page: every call returns an Outcome
saying what happened, and for a conflict what the incident is now and who changed it last.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from dashboard.api.context import writing
from dashboard.auth.access import PAGE_ROLES
from dashboard.console.drawer import get_covered_incident, get_latest_event
from dashboard.console.queries import parse_id
from models.actor import ROLES, Actor
from models.enums import Action, AreaLevel, DisputeOutcome
from models.errors import DomainError, Forbidden, Invalid, VersionConflict
from models.incident import Incident, IncidentEvent
from models.lifecycle import HANDLERS
from models.sla import CITY_ZONE
from models.transition import MAX_TEXT, TRANSITIONS, coerce

# Who may use the console at all: shift leads and admins.
CONSOLE_ROLES = PAGE_ROLES["console"]

# The console's actions in the order the drawer shows them, with the form fields each takes.
FIELDS: dict[Action, tuple[str, ...]] = {
    Action.ACCEPT: (),
    Action.DISPATCH: ("department_id", "deadline"),
    Action.REASSIGN: ("department_id", "reason"),
    Action.ESCALATE: ("reason",),
    Action.HOLD: ("new_deadline", "reason"),
    Action.RETURN: ("reason",),
    Action.CLOSE: ("dispute_outcome", "reason"),
    Action.REOPEN: ("reason",),
    Action.ACK_ALARM: (),
}
CONSOLE_ACTIONS = tuple(FIELDS)
IMMEDIATE = frozenset(a for a, fields in FIELDS.items() if not fields)  # no form to fill
REQUIRED = {Action.DISPATCH: {"department_id"}, Action.REASSIGN: {"department_id"},
            Action.HOLD: {"new_deadline", "reason"}, Action.ESCALATE: {"reason"},
            Action.RETURN: {"reason"}, Action.REOPEN: {"reason"}}
SHORTCUT = {Action.ACCEPT: "a", Action.DISPATCH: "d", Action.REASSIGN: "r", Action.ESCALATE: "e",
            Action.HOLD: "p", Action.RETURN: "t", Action.CLOSE: "c", Action.REOPEN: "o",
            Action.ACK_ALARM: "g"}
BATCH_LIMIT = 200


@dataclass(frozen=True)
class Outcome:
    """What one action did. `error` is None on success, else the DomainError's code
    (version_conflict, illegal_transition, forbidden, invalid, not_found)."""

    incident_id: int | None
    action: str
    ok: bool
    state: str | None = None
    version: int | None = None
    error: str | None = None
    field: str | None = None
    detail: str | None = None
    latest: dict | None = None     # for a conflict: the newest event (who, what, when)


def require_console_actor(actor: Actor | None) -> Actor:
    """The actor, if their role may use the console at all (jurisdiction is checked per
    incident). A callback is an endpoint: each one calls this first."""
    if actor is None or actor.role not in CONSOLE_ROLES:
        raise Forbidden("only shift leads and admins may use the console")
    return actor


def list_allowed_actions(actor: Actor, incident: Incident) -> list[Action]:
    """The console actions legal from the incident's state that this actor may take on it."""
    if not actor.covers(incident):
        return []
    allowed = []
    for action in CONSOLE_ACTIONS:
        if actor.role not in ROLES[action] or incident.state not in TRANSITIONS[action][0]:
            continue
        if action == Action.ESCALATE and incident.level == AreaLevel.CITY:
            continue
        if action == Action.ACK_ALARM and incident.alarm_at is None:
            continue
        allowed.append(action)
    return allowed


# ---------------------------------------------------------------- form values

def parse_local_time(field: str, value) -> datetime | None:
    """A datetime-local input's value ("2026-11-02T15:30"), meant in Asia/Shanghai, as UTC."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise Invalid(field, f"{value!r} is not a date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CITY_ZONE)
    return moment.astimezone(UTC)


def build_params(action: Action, raw: dict) -> dict:
    """The lifecycle keyword arguments from the form's values: only the fields this action
    takes (nothing else the browser sends gets through), each converted or refused by name."""
    params: dict = {}
    for name in FIELDS[action]:
        value = raw.get(name)
        if name == "department_id":
            params[name] = parse_id(name, value)
        elif name in ("deadline", "new_deadline"):
            params[name] = parse_local_time(name, value)
        elif name == "dispute_outcome":
            params[name] = coerce(name, DisputeOutcome, value or None)
        else:
            if value is not None and not isinstance(value, str):
                raise Invalid(name, f"{name} must be text")
            if value is not None and len(value) > MAX_TEXT:
                raise Invalid(name, f"{name} is longer than {MAX_TEXT} characters")
            params[name] = value
        if name in REQUIRED.get(action, ()) and params[name] in (None, ""):
            raise Invalid(name, f"{name} is required")
    return params


# ---------------------------------------------------------------- doing it

def build_latest(event: IncidentEvent | None) -> dict | None:
    if event is None:
        return None
    return {"actor_name": event.actor_name, "actor_role": str(event.actor_role),
            "action": event.action, "at": event.at.isoformat(), "version": event.version,
            "to_state": str(event.to_state)}


def build_conflict(session: Session, actor: Actor, incident_id: int, action: str,
                   exc: VersionConflict) -> Outcome:
    """After a rollback: the incident as it is now, and its newest event."""
    session.expire_all()
    current = get_covered_incident(session, actor, incident_id)
    return Outcome(incident_id, action, False, str(current.state), current.version,
                   exc.code, exc.field, exc.detail, build_latest(get_latest_event(session, incident_id)))


def build_failure(incident_id: int | None, action: str, exc: DomainError) -> Outcome:
    state = getattr(exc, "state", None)
    return Outcome(incident_id, action, False, state and str(state), getattr(exc, "version", None),
                   exc.code, exc.field, exc.detail)


def do_action(session: Session, actor: Actor, incident_id, action, *, expected_version,
              values: dict | None = None, now: datetime | None = None) -> Outcome:
    """Apply one console action to one incident and publish it. `incident_id`,
    `expected_version` and `values` come from the browser: each is checked here."""
    name = str(action)
    try:
        require_console_actor(actor)
        incident_id = parse_id("id", incident_id)
        action = coerce("action", Action, action)
        if action not in FIELDS:
            raise Invalid("action", f"{action} is not a console action")
        if not isinstance(expected_version, int) or isinstance(expected_version, bool):
            raise Invalid("expected_version", "the version you read is required")
        params = build_params(action, values or {})
        with writing(session):
            incident = get_covered_incident(session, actor, incident_id)
            HANDLERS[action](session, incident, actor, expected_version=expected_version,
                             now=now, **params)
        return Outcome(incident.id, name, True, str(incident.state), incident.version)
    except VersionConflict as exc:
        session.rollback()
        return build_conflict(session, actor, incident_id, name, exc)
    except DomainError as exc:
        session.rollback()
        return build_failure(incident_id if isinstance(incident_id, int) else None, name, exc)


def do_batch_reassign(session: Session, actor: Actor, rows: list[dict], values: dict, *,
                      now: datetime | None = None) -> list[Outcome]:
    """Reassign each of `rows` ({"id", "version"} as the lead saw them) to the department in
    `values`, one transaction each: a conflict on one leaves the others done."""
    require_console_actor(actor)
    if len(rows) > BATCH_LIMIT:
        raise Invalid("id", f"at most {BATCH_LIMIT} incidents at once")
    seen, outcomes = set(), []
    for row in rows:
        ident = row.get("id") if isinstance(row, dict) else None
        if ident in seen:
            continue
        seen.add(ident)
        outcomes.append(do_action(session, actor, ident, Action.REASSIGN,
                                  expected_version=row.get("version"), values=values, now=now))
    return outcomes
