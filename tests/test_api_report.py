"""POST /api/v1/incidents: reporting, placing, idempotent retries, and every refusal,
each with proof that nothing was written in SQL or Redis."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Incident, IncidentEvent
from models.db import make_session_factory
from models.enums import State
from tests.api_support import (  # noqa: F401  (fixtures)
    GRID,
    OUTSIDE,
    POINT,
    api,
    auth,
    client,
    make_report,
    make_token,
    post_report,
    token,
    written,
)
from workers import keys


def test_it_reports_an_incident_in_a_named_grid(api, client, auth, city_engine, redis):
    response = post_report(client, auth, priority="urgent", reporter_name="李网格员")
    assert response.status_code == 201
    body = response.get_json()
    assert (body["state"], body["version"], body["grid_code"]) == ("REPORTED", 1, GRID)
    assert (body["priority"], body["reporter_name"], body["source"]) == ("urgent", "李网格员", "api:field-app")
    assert body["town_code"] == GRID[:9] and body["village_code"] == GRID[:12]
    with make_session_factory(city_engine)() as session:
        incident = session.get(Incident, body["id"])
        events = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == body["id"])).all()
    assert incident.state == State.REPORTED and incident.due_at is not None
    assert [(e.action, e.actor_name) for e in events] == [("report", "api:field-app")]
    assert redis.exists(keys.LIVE_INCIDENT.format(incident_id=body["id"]))


def test_it_places_a_point_in_the_grid_that_holds_it(client, auth):
    response = post_report(client, auth, grid_code=None, **POINT)
    assert response.status_code == 201
    body = response.get_json()
    assert (body["grid_code"], body["lon"], body["lat"]) == (GRID, POINT["lon"], POINT["lat"])


def test_it_answers_a_retry_with_the_same_client_ref_with_the_first_incident(api, client, auth):
    first = post_report(client, auth, client_ref="device-7/0042")
    before = written(api)
    again = post_report(client, auth, client_ref="device-7/0042", description="重发")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["description"] == first.get_json()["description"]
    assert written(api) == before


def test_it_keeps_client_refs_apart_per_client(api, client, auth, city_engine):
    other = {"Authorization": f"Bearer {make_token(city_engine, 'other-app')}"}
    first = post_report(client, auth, client_ref="r-1")
    second = post_report(client, other, client_ref="r-1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.get_json()["id"] != second.get_json()["id"]


def test_it_refuses_malformed_json_with_400_and_writes_nothing(api, client, auth):
    post_report(client, auth)
    before = written(api)
    for raw in (b'{"item_code": "14-01",', b"", b"\xff\xfe", b'{"description": "\\ud800"}'):
        response = client.post("/api/v1/incidents", data=raw, headers={**auth, "Content-Type": "application/json"})
        assert response.status_code == 400, raw
        assert response.get_json()["error"] == "malformed_json"
    assert written(api) == before


INVALID = [
    ({"zzz": 1}, "zzz"),                              # unknown field
    ({"priority": "asap"}, "priority"),               # not one of the values
    ({"channel": None}, "channel"),                   # required
    ({"description": None}, "description"),
    ({"description": "   "}, "description"),          # blank once stripped
    ({"description": "x" * 4001}, "description"),
    ({"description": "a\x00b"}, "description"),
    ({"item_code": 1401}, "item_code"),               # strict: a number is not a code
    ({"item_code": "99-99"}, "item_code"),            # not in the catalogue
    ({"grid_code": "441900004"}, "grid_code"),        # a town, not a grid
    ({"grid_code": None}, "grid_code"),               # no place at all
    ({"grid_code": None, "lon": 113.75}, "lat"),      # half a point
    ({"grid_code": None, **OUTSIDE}, "lon"),          # outside every grid
    ({"lon": 200.0, "lat": 23.0}, "lon"),             # not a longitude
    ({"client_ref": "x" * 65}, "client_ref"),
    ({"reporter_name": ["李"]}, "reporter_name"),
]


@pytest.mark.parametrize(("change", "field"), INVALID, ids=[f for _, f in INVALID])
def test_it_refuses_an_invalid_report_with_422_naming_the_field(api, client, auth, change, field):
    post_report(client, auth)
    before = written(api)
    body = make_report(**{k: v for k, v in change.items() if v is not None})
    for key in (k for k, v in change.items() if v is None):
        body.pop(key, None)
    response = client.post("/api/v1/incidents", json=body, headers=auth)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()
    assert (error["error"], error["field"]) == ("invalid", field)
    assert error["detail"]
    assert written(api) == before


def test_it_refuses_a_body_over_the_size_limit_with_413(api, client, auth):
    before = written(api)
    body = make_report(description="长" * 100_000)  # 300 KB of UTF-8
    response = client.post("/api/v1/incidents", json=body, headers=auth)
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert written(api) == before


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-token"])
def test_it_refuses_a_report_without_a_valid_token_with_401(api, client, header):
    before = written(api)
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/incidents", json=make_report(), headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert written(api) == before
