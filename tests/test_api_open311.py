"""Open311 GeoReport v2 under /open311/v2: services, posting a request (form-encoded),
reading status back, and errors in the spec's [{"code", "description"}] shape."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Incident
from models.db import make_session_factory
from models.enums import Channel
from tests.api_support import (  # noqa: F401  (fixtures)
    OUTSIDE,
    POINT,
    act,
    api,
    auth,
    client,
    token,
    written,
)

BASE = "/open311/v2"


def _form(token, **overrides) -> dict:
    form = {"api_key": token, "service_code": "14-01", "lat": str(POINT["lat"]), "long": str(POINT["lon"]),
            "description": "小区门口垃圾堆积", "address_string": "东城街道岭坑社区", "first_name": "小明",
            "last_name": "王", "email": "wang@example.cn", "attribute[weight]": "heavy"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def _post(client, form):
    return client.post(f"{BASE}/requests.json", data=form)


def test_it_lists_our_items_as_services(client):
    response = client.get(f"{BASE}/services.json")
    assert response.status_code == 200
    services = response.get_json()
    assert len(services) == 83
    fire = next(s for s in services if s["service_code"] == "01-01")
    assert (fire["group"], fire["type"], fire["metadata"]) == ("消防安全", "realtime", False)
    assert fire["service_name"] == "消防通道堵塞"


def test_it_creates_an_incident_from_a_posted_request(client, token, city_engine):
    response = _post(client, _form(token))
    assert response.status_code == 201
    [created] = response.get_json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    with make_session_factory(city_engine)() as session:
        incident = session.get(Incident, int(created["service_request_id"]))
    assert (incident.channel, incident.source, incident.reporter_name) == (Channel.OPEN311, "api:field-app", "王 小明")
    assert incident.description == "小区门口垃圾堆积（地址：东城街道岭坑社区）"
    assert (incident.lon, incident.lat) == (POINT["lon"], POINT["lat"])


def test_it_reports_status_through_the_whole_round_trip(client, token, auth):
    request_id = _post(client, _form(token)).get_json()[0]["service_request_id"]
    [public] = client.get(f"{BASE}/requests/{request_id}.json").get_json()
    assert (public["status"], public["status_notes"], public["service_code"]) == ("open", "已上报", "14-01")
    assert public["description"] is None  # without an api_key, no free text that may name people
    assert public["requested_datetime"].endswith("+08:00")
    incident_id = int(request_id)
    act(client, auth, incident_id, "accept", expected_version=1)
    assert act(client, auth, incident_id, "invalidate", expected_version=2, reason="x").status_code == 409
    [listed] = client.get(f"{BASE}/requests.json?service_request_id={request_id}&api_key={token}").get_json()
    assert (listed["status"], listed["status_notes"]) == ("open", "已受理")
    assert listed["description"].startswith("小区门口垃圾堆积")
    other = _post(client, _form(token, service_code="01-01")).get_json()[0]["service_request_id"]
    act(client, auth, int(other), "not-ours", expected_version=1, reason="非本系统事项")
    closed = client.get(f"{BASE}/requests.json?status=closed").get_json()
    assert [r["service_request_id"] for r in closed] == [other]
    assert closed[0]["status"] == "closed"
    fire = client.get(f"{BASE}/requests.json?service_code=01-01").get_json()
    assert [r["service_request_id"] for r in fire] == [other]
    both = client.get(f"{BASE}/requests.json?service_request_id={request_id},{other}").get_json()
    assert {r["service_request_id"] for r in both} == {request_id, other}
    assert client.get(f"{BASE}/requests.json?start_date=2099-01-01T00:00:00Z").get_json() == []


@pytest.mark.parametrize(("change", "status", "words"), [
    ({"api_key": None}, 403, "api_key"),
    ({"api_key": "wrong"}, 403, "api_key"),
    ({"service_code": "99-99"}, 400, "service_code"),
    ({"service_code": None}, 400, "service_code"),
    ({"lat": None}, 400, "lat"),
    ({"long": "east"}, 400, "long"),
    ({"lat": str(OUTSIDE["lat"]), "long": str(OUTSIDE["lon"])}, 400, "long: the point"),
    ({"description": "长" * 5000}, 400, "description"),
])
def test_it_refuses_a_bad_request_in_open311_form(api, client, token, change, status, words):
    before = written(api)
    response = _post(client, _form(token, **change))
    assert response.status_code == status
    [error] = response.get_json()
    assert error["code"] == status and words in error["description"]
    assert written(api) == before


@pytest.mark.parametrize(("path", "status"), [
    ("/requests/424242.json", 404),
    ("/requests.json?service_request_id=1,abc", 400),
    ("/requests.json?start_date=yesterday", 400),
    ("/services.xml", 404),
    ("/requests/1.xml", 404),
])
def test_it_answers_a_bad_read_in_open311_form(api, client, path, status):
    before = written(api)
    response = client.get(BASE + path)
    assert response.status_code == status
    [error] = response.get_json()
    assert error["code"] == status and error["description"]
    assert written(api) == before


def test_it_refuses_a_method_the_spec_does_not_have(client):
    response = client.delete(f"{BASE}/requests.json")
    assert response.status_code == 405
    assert response.get_json()[0]["code"] == 405


def test_it_stores_nothing_of_the_contact_fields(client, token, city_engine):
    _post(client, _form(token, email="secret@example.cn", phone="13800000000"))
    with make_session_factory(city_engine)() as session:
        rows = session.execute(select(Incident)).scalars().all()
    text = repr([(r.description, r.reporter_name, r.external_id) for r in rows])
    assert "secret@example.cn" not in text and "13800000000" not in text
