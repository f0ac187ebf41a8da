"""The REST API acting for a person: a token bound to someone (create-token --user) or a
logged-in session acts with that person's role and jurisdiction. Outside it an incident
cannot be read (404, as if it did not exist), listed, or acted on (403)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models.area import Area
from models.db import make_session_factory
from models.enums import AreaLevel
from models.org import Staff
from tests.api_support import (  # noqa: F401  (fixtures)
    GRID,
    act,
    api,
    auth,
    client,
    login_client,
    make_token,
    post_report,
    revoke_token,
    token,
)

OTHER_TOWN = "441900003"


@pytest.fixture
def other_grid(city_engine) -> str:
    """A grid of 东城街道 (441900003), the town next to GRID's 南城街道."""
    with make_session_factory(city_engine)() as session:
        code = session.scalar(select(Area.code).where(Area.level == AreaLevel.GRID,
                                                      Area.code.like(f"{OTHER_TOWN}%")).order_by(Area.code))
    assert code, f"the reference city has no grid in {OTHER_TOWN}"
    return code


@pytest.fixture
def incidents(client, auth, other_grid) -> dict[str, dict]:
    """One new incident in each town, reported by the trusted intake token."""
    return {town: post_report(client, auth, grid_code=grid).get_json()
            for town, grid in (("441900004", GRID), (OTHER_TOWN, other_grid))}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_bound_token_acts_as_its_person(api, client, city_engine):
    lead = bearer(make_token(city_engine, "lead-app", user="441900004-shiftlead-1"))
    body = client.get("/api/v1/me", headers=lead).get_json()
    assert body["via"] == "token" and body["client"] == "lead-app"
    assert body["actor"]["role"] == "shift_lead" and body["actor"]["area_code"] == "441900004"


def test_a_town_leads_token_cannot_read_or_act_on_another_towns_incident(api, client, city_engine,
                                                                          incidents):
    lead = bearer(make_token(city_engine, "lead-app", user="441900004-shiftlead-1"))
    own, other = incidents["441900004"], incidents[OTHER_TOWN]
    assert client.get(f"/api/v1/incidents/{own['id']}", headers=lead).status_code == 200
    hidden = client.get(f"/api/v1/incidents/{other['id']}", headers=lead)
    missing = client.get("/api/v1/incidents/999999", headers=lead)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["detail"] == f"no incident with id {other['id']}", "not 'forbidden'"
    listed = {i["id"] for i in client.get("/api/v1/incidents?limit=200", headers=lead).get_json()["items"]}
    assert own["id"] in listed and other["id"] not in listed
    refused = act(client, lead, other["id"], "accept", expected_version=other["version"])
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    accepted = act(client, lead, own["id"], "accept", expected_version=own["version"])
    assert accepted.status_code == 200 and accepted.get_json()["event"]["actor_role"] == "shift_lead"


def test_an_area_filter_outside_the_jurisdiction_lists_nothing(api, client, city_engine, incidents):
    lead = bearer(make_token(city_engine, "lead-app", user="441900004-shiftlead-1"))
    answer = client.get(f"/api/v1/incidents?area={OTHER_TOWN}", headers=lead)
    assert answer.status_code == 200 and answer.get_json()["items"] == []


def test_an_unbound_token_is_still_a_trusted_system_everywhere(api, client, auth, incidents):
    listed = {i["id"] for i in client.get("/api/v1/incidents?limit=200", headers=auth).get_json()["items"]}
    assert {i["id"] for i in incidents.values()} <= listed
    assert client.get("/api/v1/me", headers=auth).get_json()["actor"]["role"] == "system"


def test_a_bound_token_of_an_inactive_person_is_refused(api, client, city_engine):
    lead = bearer(make_token(city_engine, "lead-app", user="441900004-shiftlead-1"))
    with make_session_factory(city_engine)() as session:
        session.scalar(select(Staff).where(Staff.username == "441900004-shiftlead-1")).active = False
        session.commit()
    assert client.get("/api/v1/me", headers=lead).status_code == 401


def test_reports_follow_the_role_and_the_jurisdiction(api, client, city_engine, other_grid):
    operator = bearer(make_token(city_engine, "op-app", user="441900004-operator-1"))
    lead = bearer(make_token(city_engine, "lead-app", user="441900004-shiftlead-1"))
    assert post_report(client, operator).status_code == 403, "operators watch; they do not report"
    assert post_report(client, lead).status_code == 201
    outside = post_report(client, lead, grid_code=other_grid)
    assert outside.status_code == 403 and "jurisdiction" in outside.get_json()["detail"]


def test_a_grid_workers_token_reports_in_its_own_grid_only(api, client, city_engine, other_grid):
    with make_session_factory(city_engine)() as session:
        worker = session.scalar(select(Staff.username).where(Staff.username.like(f"gw-{GRID}-%")))
    assert worker, f"the reference city has no grid worker in {GRID}"
    own = bearer(make_token(city_engine, "gw-app", user=worker))
    assert post_report(client, own).status_code == 201
    assert post_report(client, own, grid_code=other_grid).status_code == 403


def test_a_session_reads_its_own_jurisdiction_only(api, client, incidents):
    login_client(client, "441900004-operator-1")
    assert client.get("/api/v1/me").get_json()["via"] == "session"
    listed = {i["id"] for i in client.get("/api/v1/incidents?limit=200").get_json()["items"]}
    assert incidents["441900004"]["id"] in listed and incidents[OTHER_TOWN]["id"] not in listed
    assert client.get(f"/api/v1/incidents/{incidents[OTHER_TOWN]['id']}").status_code == 404


def test_a_session_acts_with_its_role(api, client, incidents):
    headers = login_client(client, "441900003-shiftlead-1")
    own, other = incidents[OTHER_TOWN], incidents["441900004"]
    assert act(client, headers, other["id"], "accept", expected_version=other["version"]).status_code == 403
    answer = act(client, headers, own["id"], "accept", expected_version=own["version"])
    assert answer.status_code == 200, answer.get_json()


def test_a_revoked_bound_token_stops_working(api, client, city_engine):
    lead = bearer(make_token(city_engine, "lead-app", user="441900004-shiftlead-1"))
    revoke_token(city_engine, "lead-app")
    assert client.get("/api/v1/me", headers=lead).status_code == 401


def test_open311_shows_descriptions_only_inside_a_bound_keys_jurisdiction(api, client, city_engine,
                                                                           incidents):
    key = make_token(city_engine, "lead-app", user="441900004-shiftlead-1")
    ids = ",".join(str(i["id"]) for i in incidents.values())
    rows = client.get(f"/open311/v2/requests.json?service_request_id={ids}&api_key={key}").get_json()
    text = {int(r["service_request_id"]): r["description"] for r in rows}
    assert text[incidents["441900004"]["id"]] and text[incidents[OTHER_TOWN]["id"]] is None
