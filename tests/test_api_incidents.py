"""GET /api/v1/incidents/{id} (with its audit timeline) and GET /api/v1/incidents
(filters, paging, stable order, refusals)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from dashboard.api.schemas import IncidentDetailOut, IncidentPageOut
from models import Area, Item, lifecycle
from models.actor import Actor
from models.db import make_session_factory
from models.enums import Channel
from tests.api_support import (  # noqa: F401  (fixtures)
    GRID,
    act,
    api,
    auth,
    client,
    post_report,
    token,
    written,
)

OTHER_GRID = "441900103201001"  # in another town
NOW = datetime.now(timezone.utc)


def _seed(engine) -> dict[str, int]:
    """Five incidents with known places, categories, times and states, made through the
    lifecycle with explicit times (the API itself always reports at the present)."""
    actor = Actor.system("test")
    with make_session_factory(engine)() as session:
        area = {c: session.scalar(select(Area.id).where(Area.code == c)) for c in (GRID, OTHER_GRID)}
        item = {c: session.scalar(select(Item.id).where(Item.code == c)) for c in ("14-01", "01-01")}

        def report(grid, code, at):
            return lifecycle.report(session, actor, item_id=item[code], area_id=area[grid],
                                    description="测试", channel=Channel.APP, now=at)

        made = {
            "old_overdue": report(GRID, "14-01", NOW - timedelta(days=3)),
            "set_aside": report(OTHER_GRID, "01-01", NOW - timedelta(days=2)),
            "escalated": report(OTHER_GRID, "14-01", NOW - timedelta(days=1)),
            "fresh_fire": report(GRID, "01-01", NOW - timedelta(minutes=5)),
            "fresh": report(GRID, "14-01", NOW - timedelta(minutes=1)),
        }
        lifecycle.invalidate(session, made["set_aside"], actor, expected_version=1, reason="测试",
                             now=NOW - timedelta(days=2))
        lifecycle.escalate(session, made["escalated"], actor, expected_version=1, reason="协调",
                           now=NOW - timedelta(days=1))
        session.commit()
        return {k: v.id for k, v in made.items()}


@pytest.fixture
def seeded(api, city_engine) -> dict[str, int]:
    return _seed(city_engine)


def _list(client, auth, **params) -> dict:
    response = client.get(f"/api/v1/incidents?{urlencode(params)}", headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _ids(client, auth, **params) -> list[int]:
    return [i["id"] for i in _list(client, auth, **params)["items"]]


def test_it_returns_an_incident_with_its_full_timeline(client, auth):
    incident_id = post_report(client, auth).get_json()["id"]
    act(client, auth, incident_id, "accept", expected_version=1)
    act(client, auth, incident_id, "escalate", expected_version=2, reason="需要镇街协调")
    response = client.get(f"/api/v1/incidents/{incident_id}", headers=auth)
    assert response.status_code == 200
    body = IncidentDetailOut.model_validate(response.get_json())
    assert [(e.action, e.from_state, e.to_state) for e in body.timeline] == [
        ("report", "REPORTED", "REPORTED"), ("accept", "REPORTED", "ACCEPTED"),
        ("escalate", "ACCEPTED", "ACCEPTED")]
    assert body.timeline[2].reason == "需要镇街协调"
    assert body.timeline[2].payload == {"from_level": "village", "to_level": "town"}
    assert [e.id for e in body.timeline] == sorted(e.id for e in body.timeline)


@pytest.mark.parametrize("path", ["/api/v1/incidents/424242", f"/api/v1/incidents/{2**64}"])
def test_it_answers_an_unknown_id_with_404(api, client, auth, path):
    before = written(api)
    response = client.get(path, headers=auth)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert written(api) == before


def test_it_lists_newest_first_in_the_documented_shape(client, auth, seeded):
    page = IncidentPageOut.model_validate(_list(client, auth))
    assert [i.id for i in page.items] == sorted(seeded.values(), reverse=True)
    assert page.next_cursor is None


@pytest.mark.parametrize(("params", "expected"), [
    ({"area": GRID}, {"old_overdue", "fresh_fire", "fresh"}),
    ({"area": GRID[:12]}, {"old_overdue", "fresh_fire", "fresh"}),          # its village
    ({"area": OTHER_GRID[:9]}, {"set_aside", "escalated"}),                 # another town
    ({"area": "441900"}, {"old_overdue", "set_aside", "escalated", "fresh_fire", "fresh"}),
    ({"state": "INVALID"}, {"set_aside"}),
    ({"state": "reported,invalid"}, {"old_overdue", "set_aside", "escalated", "fresh_fire", "fresh"}),
    ({"category": "fire"}, {"set_aside", "fresh_fire"}),
    ({"category": "1"}, {"set_aside", "fresh_fire"}),
    ({"level": "town"}, {"escalated"}),
    ({"overdue": "true"}, {"old_overdue", "escalated"}),
    ({"overdue": "false"}, {"set_aside", "fresh_fire", "fresh"}),
    ({"reported_from": (NOW - timedelta(days=2, hours=1)).isoformat(),
      "reported_to": (NOW - timedelta(minutes=3)).isoformat()}, {"set_aside", "escalated", "fresh_fire"}),
    ({"reported_from": (NOW - timedelta(hours=1)).astimezone(timezone(timedelta(hours=8))).isoformat()},
     {"fresh_fire", "fresh"}),
    ({"area": GRID, "category": "sanitation", "overdue": "false"}, {"fresh"}),
])
def test_it_filters_the_list(client, auth, seeded, params, expected):
    assert set(_ids(client, auth, **params)) == {seeded[k] for k in expected}


def test_it_pages_with_a_cursor_in_a_stable_order(client, auth, seeded):
    seen, cursor = [], None
    while True:
        page = _list(client, auth, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seeded.values(), reverse=True)
    assert _ids(client, auth, limit=2, offset=2) == seen[2:4]


@pytest.mark.parametrize(("query", "field"), [
    ("area=nowhere", "area"),
    ("category=weather", "category"),
    ("state=OPENISH", "state"),
    ("level=province", "level"),
    ("overdue=perhaps", "overdue"),
    ("reported_from=2026-11-01T08:00:00", "reported_from"),   # no offset
    ("reported_to=yesterday", "reported_to"),
    ("limit=0", "limit"),
    ("limit=201", "limit"),
    ("cursor=abc", "cursor"),
    ("cursor=5&offset=10", "offset"),
    ("offset=-1", "offset"),
    ("colour=red", "colour"),
    ("state=REPORTED&state=CLOSED", "state"),
    ("area=%00", "area"),
])
def test_it_refuses_a_bad_query_with_422_naming_the_parameter(api, client, auth, seeded, query, field):
    before = written(api)
    response = client.get(f"/api/v1/incidents?{query}", headers=auth)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field
    assert written(api) == before


def test_it_refuses_to_list_without_a_token(client, seeded):
    assert client.get("/api/v1/incidents").status_code == 401
