"""Open311 GeoReport v2 (JSON only) under /open311/v2, mapped onto our model.

- services.json: our catalogue items as services (service_code = item code, service_name =
  the Chinese name, group = the category's Chinese name). Public.
- POST requests.json: form-encoded as the spec says; `api_key` is one of our API tokens.
  lat and long are required (we place reports in grids by point; there is no geocoder for
  address_string, which is kept in the description). Creates a REPORTED incident with
  channel open311. Contact fields (email, phone, device_id, account_id, media_url) are
  accepted and not stored: we have no place for them and do not want personal data we
  do not use. Unknown fields are ignored, as the spec's attribute[…] fields are.
- GET requests.json and requests/{id}.json: status is open or closed (closed = CLOSED,
  INVALID, DUPLICATE, NOT_OURS); status_notes names our state. Public as in the spec, but
  the description (which may name people) is only returned with a valid api_key (a key
  bound to a person: only inside their jurisdiction).
Errors use the spec's `[{"code", "description"}]`, with HTTP 400 for bad input, 403 for
a bad api_key and 404 for an unknown request (see errors.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.api.auth import Client, get_client_for
from dashboard.api.context import get_services, get_session
from dashboard.api.errors import ApiError
from dashboard.api.inputs import validate_data
from dashboard.api.intake import do_report_once
from dashboard.api.schemas import MAX_ID, Code, Lat, Lon, Moment, Name, ReportIn, Text, text_type
from models import Department, Incident
from models.enums import CLOSED_STATES, Channel, State
from models.errors import DomainError, NotFound
from models.sla import CITY_ZONE
from models.types import utcnow

# Our field names as the spec calls them, for error messages.
OUR_FIELDS = {"item_code": "service_code", "lon": "long", "reporter_name": "first_name"}
RECENT = timedelta(days=90)
MAX_REQUESTS = 1000
STATE_ZH = {
    State.REPORTED: "已上报", State.ACCEPTED: "已受理", State.DISPATCHED: "已派遣",
    State.ACKNOWLEDGED: "已签收", State.IN_PROGRESS: "处置中", State.ON_HOLD: "延期/挂账",
    State.RESOLVED: "已处理，待核查", State.CLOSED: "已结案", State.RETURNED: "已退回，待重新派遣",
    State.REOPENED: "已重新打开", State.SELF_HANDLED: "网格员已自行处置，待核查",
    State.INVALID: "无效", State.DUPLICATE: "重复", State.NOT_OURS: "非本系统事项",
}


class RequestForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    service_code: Code
    lat: Lat
    long: Lon
    description: Text | None = None
    address_string: Text | None = None
    first_name: Name | None = None
    last_name: Name | None = None


class RequestQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    service_request_id: text_type(2000, 1) | None = None
    service_code: Code | None = None
    start_date: Moment | None = None
    end_date: Moment | None = None
    status: str | None = Field(None, pattern="^(open|closed)$")
    api_key: text_type(128) | None = None

    def ids(self) -> list[int]:
        parts = [p.strip() for p in (self.service_request_id or "").split(",") if p.strip()]
        if not all(p.isdigit() and 0 < int(p) <= MAX_ID for p in parts):
            raise ApiError(400, "invalid", "service_request_id must be ids separated by commas",
                           field="service_request_id")
        return [int(p) for p in parts]


def city_time(value: datetime | None) -> str | None:
    return value.astimezone(CITY_ZONE).isoformat() if value else None


# ---------------------------------------------------------------- services

def get_services_json():
    ref = get_services().reference
    return jsonify([
        {"service_code": item.code, "service_name": item.name_zh, "description": item.name_en,
         "metadata": False, "type": "realtime", "keywords": ref.categories[item.category_id].key,
         "group": ref.categories[item.category_id].name_zh}
        for item in sorted(ref.items.values(), key=lambda i: i.code)])


# ---------------------------------------------------------------- POST requests

def require_key(api_key: str | None) -> Client:
    client = get_client_for(api_key)
    if client is None:
        raise ApiError(403, "forbidden", "api_key is missing or not valid", field="api_key")
    return client


def to_report(form: RequestForm, service_name: str) -> ReportIn:
    """Our report for a GeoReport request; the address goes into the description."""
    name = " ".join(p for p in (form.last_name, form.first_name) if p) or None
    text = form.description or service_name
    if form.address_string:
        text = f"{text}（地址：{form.address_string}）"
    return validate_data(ReportIn, {"item_code": form.service_code, "lon": form.long, "lat": form.lat,
                                    "description": text, "reporter_name": name and name[:64],
                                    "channel": Channel.OPEN311})


def post_request():
    request.max_content_length = current_app.config["API_BODY_LIMIT"]
    client = require_key(request.form.get("api_key"))
    form = validate_data(RequestForm, request.form.to_dict())
    session, ref = get_session(), get_services().reference
    item = ref.get_item(session, form.service_code)
    try:
        report = to_report(form, item.name_zh if item else form.service_code)
        incident, _ = do_report_once(session, ref, client, report)
    except DomainError as exc:
        exc.field = OUR_FIELDS.get(exc.field, exc.field)
        raise
    return jsonify([{"service_request_id": str(incident.id), "service_notice": "已收到上报，等待受理",
                     "account_id": None}]), 201


# ---------------------------------------------------------------- GET requests

def build_request(session: Session, incident: Incident, departments: dict[int, str],
                  with_text: bool) -> dict:
    ref = get_services().reference
    item = ref.items[ref.get_item_code(session, incident.item_id)]
    return {
        "service_request_id": str(incident.id),
        "status": "closed" if incident.state in CLOSED_STATES else "open",
        "status_notes": STATE_ZH[incident.state], "service_name": item.name_zh,
        "service_code": item.code, "description": incident.description if with_text else None,
        "agency_responsible": departments.get(incident.department_id), "service_notice": None,
        "requested_datetime": city_time(incident.reported_at),
        "updated_datetime": city_time(incident.updated_at),
        "expected_datetime": city_time(incident.due_at),
        "address": ref.areas[incident.area_id].name_zh if incident.area_id in ref.areas else None,
        "address_id": None, "zipcode": None, "lat": incident.lat, "long": incident.lon, "media_url": None,
    }


def get_department_names(session: Session, incidents: list[Incident]) -> dict[int, str]:
    ids = {i.department_id for i in incidents if i.department_id}
    if not ids:
        return {}
    return dict(session.execute(select(Department.id, Department.name_zh).where(Department.id.in_(ids))).all())


def list_requests(session: Session, q: RequestQuery) -> list[Incident]:
    query = select(Incident).order_by(Incident.id.desc()).limit(MAX_REQUESTS)
    if q.service_request_id:
        return list(session.scalars(query.where(Incident.id.in_(q.ids()))))
    if q.service_code:
        item = get_services().reference.get_item(session, q.service_code)
        query = query.where(Incident.item_id == (item.id if item else -1))
    if q.status:
        closed = Incident.state.in_(CLOSED_STATES)
        query = query.where(closed if q.status == "closed" else ~closed)
    start = q.start_date or ((q.end_date or utcnow()) - RECENT)
    query = query.where(Incident.reported_at >= start)
    return list(session.scalars(query.where(Incident.reported_at < q.end_date) if q.end_date else query))


def respond_requests(session: Session, incidents: list[Incident], api_key: str | None):
    """Descriptions only for a valid api_key, and a key bound to a person (create-token
    --user) only sees those of incidents in their jurisdiction."""
    client = get_client_for(api_key) if api_key else None
    departments = get_department_names(session, incidents)
    return jsonify([build_request(session, i, departments, client is not None and client.actor.covers(i))
                    for i in incidents])


def get_requests():
    q = validate_data(RequestQuery, request.args.to_dict())
    session = get_session()
    return respond_requests(session, list_requests(session, q), q.api_key)


def get_request(request_id: int):
    session = get_session()
    incident = session.get(Incident, request_id) if 0 < request_id <= MAX_ID else None
    if incident is None:
        raise NotFound(f"no service request {request_id}", field="service_request_id")
    return respond_requests(session, [incident], request.args.get("api_key"))


def not_found(rest: str):
    raise ApiError(404, "not_found", f"no such resource: {request.path} (only JSON is served)")


def make_open311_blueprint() -> Blueprint:
    bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
    bp.add_url_rule("/services.json", view_func=get_services_json, methods=["GET"])
    bp.add_url_rule("/requests.json", view_func=post_request, methods=["POST"])
    bp.add_url_rule("/requests.json", view_func=get_requests, methods=["GET"])
    bp.add_url_rule("/requests/<int(signed=True):request_id>.json", view_func=get_request, methods=["GET"])
    bp.add_url_rule("/<path:rest>", view_func=not_found, methods=["GET"])
    return bp
