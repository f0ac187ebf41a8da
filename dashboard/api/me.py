"""GET /api/v1/me: whom the API takes the caller for (a token, or a logged-in browser's
session) and as whom it acts: role, jurisdiction, department."""
from __future__ import annotations

from flask import Blueprint, jsonify

from dashboard.api.auth import get_client
from dashboard.auth.access import get_names

SCHEMA = {"type": "object", "required": ["via", "client", "actor"], "properties": {
    "via": {"enum": ["token", "session"]},
    "client": {"type": "string", "description": "the token's name, or the person's staff id"},
    "actor": {"type": "object", "properties": {
        "id": {"type": ["integer", "null"]}, "name": {"type": "string"},
        "role": {"type": "string", "description": "operator, shift_lead, leader, admin, grid_worker, "
                                                  "handler or system"},
        "area_id": {"type": ["integer", "null"]},
        "area_code": {"type": ["string", "null"], "description": "the jurisdiction: this area and beneath"},
        "department_id": {"type": ["integer", "null"]}}}}}


def get_me():
    client = get_client()
    actor = client.actor
    area = get_names().area(actor.area_id) if actor.area_id is not None else None
    return jsonify({"via": "session" if client.kind == "staff" else "token", "client": client.name,
                    "actor": {"id": actor.id, "name": actor.name, "role": actor.role,
                              "area_id": actor.area_id, "area_code": area and area.code,
                              "department_id": actor.department_id}})


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/me", view_func=get_me, methods=["GET"])
