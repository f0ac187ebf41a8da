"""The REST API under /api/v1 (intake and lifecycle steps) and Open311 under /open311/v2.

Modules: schemas (what is accepted, pydantic), inputs (reading bodies and queries),
errors (the JSON error shape), auth (bearer tokens or a login session), context (sessions, commit then
publish), reference (per-process catalogue and grid cache), intake, queries, render,
and one module of routes per family: incidents, actions, me, openapi, open311.
"""
from __future__ import annotations

from flask import Blueprint, request

from dashboard.api import actions, incidents, me, openapi
from dashboard.api.auth import require_client
from dashboard.api.errors import ApiError

PUBLIC = frozenset({"/api/v1/openapi.json"})


def _authenticate() -> None:
    if request.path not in PUBLIC:
        require_client()


def not_found(rest: str):
    """Unknown GET paths under the prefix (the Dash pages would otherwise answer them)."""
    raise ApiError(404, "not_found", f"no such resource: {request.path}")


def make_api_blueprint() -> Blueprint:
    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    bp.before_request(_authenticate)
    for routes in (incidents, actions, me, openapi):
        routes.register(bp)
    bp.add_url_rule("/<path:rest>", view_func=not_found, methods=["GET"])
    return bp
