"""Roles and jurisdiction on the screens: covers_area, jurisdiction_clause, require_page,
the wall's layout, its callbacks and its event stream. A town's operator sees their town and
its villages, not the city nor another town."""
from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import select

from dashboard.app import dispose
from dashboard.auth.access import (
    PAGE_ROLES,
    covers_area,
    jurisdiction_clause,
    require_page,
)
from dashboard.auth.ui import build_user_bar
from models.actor import Actor
from models.area import Area
from models.enums import AreaLevel, Role
from models.incident import Incident
from tests.api_support import (  # noqa: F401  (fixtures)
    GRID,
    api,
    auth,
    client,
    logged_in_request,
    login_client,
    make_api,
    post_report,
    read_csrf_field,
    token,
)
from tests.test_auth_csrf import callback_body, open_page

CITY, TOWN, VILLAGE, OTHER_TOWN = "441900", "441900004", "441900004002", "441900003"


def ids_of(api, *codes: str) -> list[int]:
    with api.server.extensions["grid"].sessions() as session:
        found = dict(session.execute(select(Area.code, Area.id).where(Area.code.in_(codes))).all())
    assert set(found) == set(codes), f"the reference city lacks {set(codes) - set(found)}"
    return [found[c] for c in codes]


def test_a_town_covers_itself_and_what_lies_beneath_it_only(api):
    city, town, village, grid, other = ids_of(api, CITY, TOWN, VILLAGE, GRID, OTHER_TOWN)
    with api.server.app_context():
        operator = Actor(Role.OPERATOR, "x", 1, town)
        assert [covers_area(operator, a) for a in (town, village, grid)] == [True, True, True]
        assert not covers_area(operator, city) and not covers_area(operator, other)
        assert all(covers_area(Actor(Role.ADMIN, "a", 2, city), a) for a in (city, other, grid))
        assert not covers_area(Actor(Role.HANDLER, "h", 3, town, department_id=5), town)
        assert not covers_area(None, town)


def test_the_sql_clause_keeps_exactly_what_actor_covers_keeps(api, client, auth):
    other_grid = _first_grid(api, OTHER_TOWN)
    for grid in (GRID, GRID, other_grid):
        assert post_report(client, auth, grid_code=grid).status_code == 201
    city, town, village, other = ids_of(api, CITY, TOWN, VILLAGE, OTHER_TOWN)
    actors = [Actor(Role.OPERATOR, "c", 1, city), Actor(Role.SHIFT_LEAD, "t", 2, town),
              Actor(Role.LEADER, "v", 3, village), Actor(Role.OPERATOR, "o", 4, other),
              Actor(Role.ADMIN, "a", 5, city), Actor(Role.HANDLER, "h", 6, town, department_id=1)]
    with api.server.app_context(), api.server.extensions["grid"].sessions() as session:
        everything = list(session.scalars(select(Incident)))
        for actor in actors:
            kept = set(session.scalars(select(Incident.id).where(jurisdiction_clause(actor))))
            assert kept == {i.id for i in everything if actor.covers(i)}, actor
        assert len(set(session.scalars(select(Incident.id).where(jurisdiction_clause(actors[1]))))) == 2


def _first_grid(api, town: str) -> str:
    with api.server.extensions["grid"].sessions() as session:
        code = session.scalar(select(Area.code).where(Area.level == AreaLevel.GRID,
                                                      Area.code.like(f"{town}%"))
                              .order_by(Area.code))
    assert code, f"no grid in {town}"
    return code


def test_require_page_answers_with_a_login_link_a_403_or_the_actor(api):
    town, other = ids_of(api, TOWN, OTHER_TOWN)
    with api.server.test_request_context("/wall/town/441900004?lang=en"):
        notice = require_page("wall", town)
        assert "auth-login" in notice.className
        assert notice.children[0].href == "/login?next=/wall/town/441900004%3Flang%3Den&lang=en"
    with logged_in_request(api, "441900004-operator-1"):
        assert isinstance(require_page("wall", town), Actor)
        outside = require_page("wall", other)
        assert "auth-forbidden" in outside.className and "管辖范围" in str(outside.children)
        role = require_page("console", lang="en")
        assert "auth-forbidden" in role.className and "Your role cannot open" in str(role.children)


def test_page_roles_are_the_issues_roles():
    assert PAGE_ROLES["wall"] == {Role.OPERATOR, Role.SHIFT_LEAD, Role.LEADER, Role.ADMIN}
    assert PAGE_ROLES["console"] == {Role.SHIFT_LEAD, Role.ADMIN}
    assert PAGE_ROLES["metrics"] == {Role.LEADER, Role.ADMIN}
    assert PAGE_ROLES["admin"] == {Role.ADMIN}


@pytest.mark.parametrize(("path", "shown"), [
    (f"/wall/town/{TOWN}", "wall-root"), (f"/wall/village/{VILLAGE}", "wall-root"),
    ("/wall", "auth-forbidden"), (f"/wall/town/{OTHER_TOWN}", "auth-forbidden"),
])
def test_a_town_operator_sees_the_walls_of_their_town_only(api, client, path, shown):
    headers = login_client(client, "441900004-operator-1")
    answer = client.post("/_dash-update-component", json=open_page(api, path), headers=headers)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert shown in page and ({"wall-root", "auth-forbidden"} - {shown}).pop() not in page


def test_the_town_wall_offers_no_way_up_to_a_wall_you_may_not_see(api, client):
    headers = login_client(client, "441900004-operator-1")
    town = client.post("/_dash-update-component", json=open_page(api, f"/wall/town/{TOWN}"), headers=headers)
    village = client.post("/_dash-update-component", json=open_page(api, f"/wall/village/{VILLAGE}"),
                          headers=headers)
    assert '"className":"wall-up"' not in town.get_data(as_text=True)
    assert '"className":"wall-up"' in village.get_data(as_text=True)


def test_an_anonymous_page_render_redirects_to_the_login(api, client):
    client.get("/login")
    headers = {"X-CSRFToken": client.get_cookie("_csrf_token").value}
    answer = client.post("/_dash-update-component", json=open_page(api, "/wall"), headers=headers)
    assert answer.status_code == 200
    page = json.dumps(answer.get_json())
    assert '"href": "/login?next=/wall"' in page and "wall-root" not in page


def drill_down(api, area: dict, code: str) -> dict:
    """The callback a click on a child area of a wall's map sends."""
    click = {"points": [{"location": code, "customdata": code}]}
    return callback_body(api, "nav.href", [{"id": "wall-map", "property": "clickData", "value": click}],
                         [{"id": "wall-area", "property": "data", "value": area}])


def test_a_wall_callback_checks_the_area_it_is_sent(api, client):
    town, other = ids_of(api, TOWN, OTHER_TOWN)
    headers = login_client(client, "441900004-operator-1")
    own = {"area_id": town, "level": "town", "code": TOWN, "lang": "zh"}
    forged = {"area_id": other, "level": "town", "code": OTHER_TOWN, "lang": "zh"}
    allowed = client.post("/_dash-update-component", json=drill_down(api, own, VILLAGE), headers=headers)
    assert allowed.status_code == 200
    assert allowed.get_json()["response"]["nav"]["href"] == f"/wall/village/{VILLAGE}"
    refused = client.post("/_dash-update-component", json=drill_down(api, forged, "441900003001"),
                          headers=headers)
    assert refused.status_code == 204, "no update for an area outside the jurisdiction"


@pytest.mark.parametrize("route", ["state", "panels"])
def test_the_state_routes_want_a_login_that_covers_their_area_and_a_known_language(api, client, route):
    town, other, village, grid = ids_of(api, TOWN, OTHER_TOWN, VILLAGE, GRID)
    anonymous = client.get(f"/wall/{route}/{town}")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"] == "unauthorized"
    login_client(client, "441900004-operator-1")
    outside = client.get(f"/wall/{route}/{other}")
    assert outside.status_code == 403 and outside.get_json()["field"] == "area_id"
    assert client.get(f"/wall/{route}/{grid}").get_json()["field"] == "area_id", "grids have no wall"
    wrong = client.get(f"/wall/{route}/{town}?lang=fr")
    assert wrong.status_code == 422 and wrong.get_json()["field"] == "lang"
    for area, lang, label in ((town, "zh", "今日上报"), (village, "en", "Reported today")):
        answer = client.get(f"/wall/{route}/{area}?lang={lang}")
        assert answer.status_code == 200
        body = answer.get_json()
        if route == "state":
            assert body["kpis"][0]["label"] == label and isinstance(body["seq"], int)
            assert set(body) >= {"board", "feed", "at"}
        else:
            title = body["map"]["anomaly"]["colorbar"]["title"]["text"]
            assert title == ("异常度" if lang == "zh" else "Anomaly score")
            assert set(body) >= {"trend", "categories", "sign"}


def test_the_stream_wants_a_login_that_covers_its_area(api, client):
    town, other, village = ids_of(api, TOWN, OTHER_TOWN, VILLAGE)
    anonymous = client.get(f"/wall/stream/{town}")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"] == "unauthorized"
    login_client(client, "441900004-operator-1")
    outside = client.get(f"/wall/stream/{other}")
    assert outside.status_code == 403 and outside.get_json()["field"] == "area_id"
    for area in (town, village):
        stream = client.get(f"/wall/stream/{area}", buffered=False)
        assert stream.status_code == 200 and stream.mimetype == "text/event-stream"
        stream.close()


def test_the_user_bar_names_the_person_and_offers_their_pages_and_a_logout(api):
    with logged_in_request(api, "441900004-shiftlead-1") as actor:
        bar = build_user_bar(actor, "zh")
        text = json.dumps(bar.to_plotly_json(), default=lambda o: o.to_plotly_json(), ensure_ascii=False)
        english = json.dumps(build_user_bar(actor, "en").to_plotly_json(),
                             default=lambda o: o.to_plotly_json(), ensure_ascii=False)
    assert actor.name in text and "值班长" in text and "南城街道" in text
    assert '"href": "/wall/town/441900004"' in text and '"href": "/console"' in text
    assert "/metrics" not in text and "/admin" not in text, "only pages the role may open"
    assert '"action": "/logout"' in text and '"method": "POST"' in text and '"name": "csrf_token"' in text
    assert "Shift lead" in english and '"href": "/console?lang=en"' in english and "Log out" in english


def test_an_open_stream_ends_soon_after_its_viewer_logs_out(city_engine, redis_server, redis):
    app = make_api(city_engine, redis_server.url, WALL_SSE_RECHECK=0.1, WALL_SSE_HEARTBEAT=0.1)
    try:
        client = app.server.test_client()
        headers = login_client(client, "city-operator-1")
        [city] = ids_of(app, CITY)
        stream = client.get(f"/wall/stream/{city}", buffered=False)
        chunks = iter(stream.response)
        assert b"event: hello" in next(chunks)
        first = [next(chunks) for _ in range(3)]  # the hub's connect status may come first
        assert any(b"event: ping" in c for c in first), f"still logged in: pings go on: {first}"
        token = read_csrf_field(client.get("/login").get_data(as_text=True))
        assert client.post("/logout", data={"csrf_token": token}, headers=headers).status_code == 303
        rest = list(itertools.islice(chunks, 100))  # a ping every 0.1 s: 100 is 10 s
        assert len(rest) < 100, "the stream went on after logout"
        stream.close()
        assert client.get(f"/wall/stream/{city}").status_code == 401, "and its retry is refused"
    finally:
        dispose(app)
