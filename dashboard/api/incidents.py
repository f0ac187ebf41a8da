"""/api/v1/incidents: report, batch report, read one with its timeline, list.

Reads show only the caller's jurisdiction: an incident outside it answers 404, exactly as
one that does not exist (so ids outside a jurisdiction reveal nothing), and lists leave it
out. Reports are checked by the lifecycle (role, and the grid inside the jurisdiction)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select

from dashboard.api.auth import get_client
from dashboard.api.context import get_services, get_session, writing
from dashboard.api.inputs import read_body, read_query
from dashboard.api.intake import do_report_batch, do_report_once, retry_on_duplicate
from dashboard.api.queries import list_incidents
from dashboard.api.render import build_event, build_incident
from dashboard.api.schemas import MAX_ID, BatchIn, ListQuery, ReportIn
from dashboard.auth.access import jurisdiction_clause
from models import IncidentEvent
from models.errors import NotFound
from models.lifecycle import get_incident
from models.types import utcnow


def post_incident():
    report = read_body(ReportIn)
    session, ref = get_session(), get_services().reference
    incident, created = do_report_once(session, ref, get_client(), report)
    return jsonify(build_incident(session, ref, incident, utcnow())), 201 if created else 200


def post_batch():
    batch = read_body(BatchIn, limit_key="API_BATCH_BODY_LIMIT")
    session, ref = get_session(), get_services().reference

    def work():
        with writing(session):
            return do_report_batch(session, ref, get_client(), batch.items, atomic=batch.atomic)

    return jsonify(retry_on_duplicate(session, work)), 200


def get_one(incident_id: int):
    session = get_session()
    if not 0 < incident_id <= MAX_ID:
        raise NotFound(f"no incident with id {incident_id}", field="id")
    incident = get_incident(session, incident_id)
    if not get_client().actor.covers(incident):
        raise NotFound(f"no incident with id {incident_id}", field="id")
    events = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                             .order_by(IncidentEvent.id))
    body = build_incident(session, get_services().reference, incident, utcnow())
    body["timeline"] = [build_event(e) for e in events]
    return jsonify(body)


def get_list():
    query = read_query(ListQuery)
    session, ref, now = get_session(), get_services().reference, utcnow()
    rows, next_cursor = list_incidents(session, ref, query, now,
                                       scope=jurisdiction_clause(get_client().actor))
    return jsonify({"items": [build_incident(session, ref, i, now) for i in rows],
                    "limit": query.limit, "next_cursor": next_cursor})


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/incidents", view_func=post_incident, methods=["POST"])
    bp.add_url_rule("/incidents", view_func=get_list, methods=["GET"])
    bp.add_url_rule("/incidents:batch", view_func=post_batch, methods=["POST"])
    bp.add_url_rule("/incidents/<int(signed=True):incident_id>", view_func=get_one, methods=["GET"])
