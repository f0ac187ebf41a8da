"""POST /api/v1/incidents/{id}/actions/{action}: one lifecycle step, by name.

Each action has its own body model (schemas.*In), so the OpenAPI document lists exactly
the parameters each one takes. The body names the version the client read; a stale one,
or a step the current state does not allow, answers 409 with the current state and version.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from dashboard.api.auth import get_client
from dashboard.api.context import get_services, get_session, writing
from dashboard.api.errors import ApiError
from dashboard.api.inputs import read_body
from dashboard.api.render import build_event, build_incident
from dashboard.api.schemas import (
    MAX_ID,
    AcceptIn,
    ActionIn,
    CloseIn,
    DispatchIn,
    DuplicateIn,
    HoldIn,
    OptionalReasonIn,
    RateIn,
    ReasonIn,
    ReassignIn,
)
from models import lifecycle
from models.enums import Action
from models.errors import Invalid, NotFound, VersionConflict
from models.types import utcnow

ACTIONS: dict[str, type[ActionIn]] = {
    Action.ACCEPT: AcceptIn, Action.DISPATCH: DispatchIn, Action.ACKNOWLEDGE: OptionalReasonIn,
    Action.START: OptionalReasonIn, Action.HOLD: HoldIn, Action.RESUME: OptionalReasonIn,
    Action.RESOLVE: OptionalReasonIn, Action.CLOSE: CloseIn, Action.REWORK: ReasonIn,
    Action.REOPEN: ReasonIn, Action.RETURN: ReasonIn, Action.REASSIGN: ReassignIn,
    Action.ESCALATE: ReasonIn, Action.INVALIDATE: ReasonIn, Action.DUPLICATE: DuplicateIn,
    Action.NOT_OURS: ReasonIn, Action.SELF_HANDLE: ReasonIn, Action.RATE: RateIn,
    Action.ACK_ALARM: OptionalReasonIn,
}


def get_params(session, body: ActionIn) -> dict:
    """The body as the lifecycle function's keyword arguments (item codes become ids)."""
    params = {name: getattr(body, name) for name in type(body).model_fields if name != "expected_version"}
    if "item_code" in params:
        code = params.pop("item_code")
        item = code and get_services().reference.get_item(session, code)
        if code and item is None:
            raise Invalid("item_code", f"no catalogue item with code {code!r}")
        params["item_id"] = item and item.id
    return params


def do_action(session, incident_id: int, action: str, body: ActionIn):
    """Apply the step; a conflict found at flush (someone committed in between) is
    answered with the state and version that are current now."""
    try:
        return lifecycle.apply(session, incident_id, action, get_client().actor,
                               expected_version=body.expected_version, **get_params(session, body))
    except VersionConflict as exc:
        if exc.version is not None:
            raise
        session.rollback()
        current = lifecycle.get_incident(session, incident_id)
        raise VersionConflict(exc.detail, state=current.state, version=current.version) from None


def post_action(incident_id: int, action: str):
    if action not in ACTIONS:
        raise ApiError(404, "not_found", f"no action {action!r}; actions: {', '.join(ACTIONS)}",
                       field="action")
    if not 0 < incident_id <= MAX_ID:
        raise NotFound(f"no incident with id {incident_id}", field="id")
    body = read_body(ACTIONS[action])
    session = get_session()
    with writing(session):
        event = do_action(session, incident_id, action, body)
    incident = event.incident
    return jsonify({"incident": build_incident(session, get_services().reference, incident, utcnow()),
                    "event": build_event(event)})


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/incidents/<int(signed=True):incident_id>/actions/<action>", view_func=post_action,
                    methods=["POST"])
