"""/console in the real app on the reference city: the layout as each role sees it (called
inside a logged-in request), and the callbacks through Dash's HTTP endpoint with a real login
and CSRF token, including ids forged for another town's incident."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from dashboard.app import dispose
from dashboard.auth.access import PAGE_ROLES
from dashboard.console import ids, page
from dashboard.console.actions import CONSOLE_ROLES
from models import Area, Incident, Item, lifecycle
from models.actor import Actor
from models.enums import AreaLevel, Channel, State
from tests.api_support import logged_in_request, login_client, make_api
from workers.live import read_live_incident

# Dash 4 warns on every DataTable built (page.py silences it; pytest re-enables deprecations).
pytestmark = pytest.mark.filterwarnings(r"ignore:\s*The dash_table\.DataTable will be removed:DeprecationWarning")
LEAD = "441900004-shiftlead-1"          # 南城街道
OPERATOR = "441900004-operator-1"
EVIL = "<script>alert(1)</script><b>楼道</b>"


@pytest.fixture
def console(city_engine, redis_server, redis):
    app = make_api(city_engine, redis_server.url)
    if not any(ids.MESSAGE in output for output in app.callback_map):  # until app.py registers it
        page.register_console_pages(app)
    yield app
    dispose(app)


def report(engine_session, town: str, description: str = "楼道堆放杂物") -> Incident:
    grid = engine_session.scalar(select(Area).where(Area.level == AreaLevel.GRID,
                                                    Area.code.startswith(town)).order_by(Area.code))
    assert grid is not None, f"the reference city has no grid in town {town}"
    item = engine_session.scalar(select(Item).where(Item.code == "14-01"))
    incident = lifecycle.report(engine_session, Actor.system("test"), item_id=item.id, area_id=grid.id,
                                description=description, channel=Channel.HOTLINE)
    engine_session.commit()
    return incident


def walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from walk(child)


def find(layout, ident):
    return [c for c in walk(layout) if getattr(c, "id", None) == ident]


def callback_key(app, output: str) -> str:
    keys = [k for k in app.callback_map if output in k]
    assert len(keys) == 1, keys
    return keys[0]


def press(client, headers, app, action: str, selected: dict | None):
    """The `act` callback as the browser sends it when an action button is clicked."""
    key = callback_key(app, f"{ids.MESSAGE}.children")
    button = {"type": ids.ACT, "action": action}
    states = [(ids.SELECTED, "data", selected), (ids.PENDING, "data", None)] + [
        (i, "value", None) for i in (ids.F_DEPARTMENT, ids.F_DEADLINE, ids.F_OUTCOME, ids.F_REASON)] + [
        (ids.QUEUE, "data", []), (ids.QUEUE, "selected_row_ids", []), (ids.BATCH_DEPARTMENT, "value", None),
        (ids.BATCH_REASON, "value", None), (ids.CTX, "data", {"lang": "zh"})]
    body = {
        "output": key,
        "outputs": [{"id": ids.MESSAGE, "property": "children"}, {"id": ids.REFRESH, "property": "data"},
                    {"id": ids.PENDING, "property": "data"}],
        "inputs": [[{"id": button, "property": "n_clicks", "value": 1}],
                   *({"id": i, "property": "n_clicks", "value": 0}
                     for i in (ids.F_SUBMIT, ids.F_CANCEL, ids.BATCH_SUBMIT))],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in states],
        "changedPropIds": [json.dumps(button, sort_keys=True, separators=(",", ":")) + ".n_clicks"],
    }
    return client.post("/_dash-update-component", json=body, headers=headers)


def open_with_cursor(client, headers, app, incident_id: int):
    """The `show_drawer` callback as console.js's j/k triggers it."""
    key = callback_key(app, f"{ids.DRAWER_SUMMARY}.children")
    outputs = [(ids.DRAWER_SUMMARY, "children"), (ids.STAGES, "children"), (ids.TIMELINE, "children"),
               (ids.MAP, "figure"), (ids.ACTIONS, "children"), (ids.SELECTED, "data"),
               (ids.DRAWER, "className"), (ids.QUEUE, "style_data_conditional")]
    body = {
        "output": key, "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [{"id": ids.QUEUE, "property": "active_cell", "value": None},
                   {"id": ids.CURSOR, "property": "data", "value": {"id": incident_id, "t": 1}},
                   {"id": ids.REFRESH, "property": "data", "value": None},
                   {"id": ids.DRAWER_CLOSE, "property": "n_clicks", "value": 0}],
        "state": [{"id": ids.SELECTED, "property": "data", "value": None},
                  {"id": ids.CTX, "property": "data", "value": {"lang": "zh"}}],
        "changedPropIds": [f"{ids.CURSOR}.data"],
    }
    return client.post("/_dash-update-component", json=body, headers=headers)


def test_it_uses_the_roles_the_auth_module_gives_the_page():
    assert CONSOLE_ROLES == PAGE_ROLES["console"]


def test_a_town_lead_sees_their_queue_and_the_user_bar(console, city_session):
    mine, theirs = report(city_session, "441900004", EVIL), report(city_session, "441900003")
    with logged_in_request(console, LEAD, "/console") as actor:
        layout = page.build_console()
    assert find(layout, ids.ROOT) and find(layout, "user-bar")
    assert find(layout, ids.ROOT)[0].to_plotly_json()["props"]["data-area"] == str(actor.area_id)
    rows = find(layout, ids.QUEUE)[0].data
    assert [r["id"] for r in rows] == [mine.id] and theirs.id not in [r["id"] for r in rows]
    assert rows[0]["summary"] == EVIL[:30]  # a DataTable text cell: shown as typed


def test_an_operator_gets_a_403_notice_and_a_stranger_the_login_link(console):
    with logged_in_request(console, OPERATOR, "/console"):
        refused = page.build_console()
    assert refused.to_plotly_json()["props"]["data-status"] == "403"
    with console.server.test_request_context("/console"):
        anonymous = page.build_console()
    assert "auth-login" in anonymous.className


def test_an_action_over_http_commits_and_reaches_the_walls(console, city_session, redis):
    incident = report(city_session, "441900004")
    client = console.server.test_client()
    headers = login_client(client, LEAD)
    answer = press(client, headers, console, "accept", {"id": incident.id, "version": incident.version})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    message = answer.get_json()["response"][ids.MESSAGE]["children"]
    assert "msg-ok" in message["props"]["className"]
    city_session.expire_all()
    assert city_session.get(Incident, incident.id).state == State.ACCEPTED
    assert read_live_incident(redis, incident.id)["state"] == "ACCEPTED"


def test_forged_ids_for_another_towns_incident_are_refused(console, city_session):
    theirs = report(city_session, "441900003", EVIL)
    client = console.server.test_client()
    headers = login_client(client, LEAD)
    answer = press(client, headers, console, "accept", {"id": theirs.id, "version": theirs.version})
    message = answer.get_json()["response"][ids.MESSAGE]["children"]
    assert message["props"]["data-error"] == "forbidden"
    drawer = open_with_cursor(client, headers, console, theirs.id).get_json()["response"]
    assert "msg-error" in drawer[ids.DRAWER_SUMMARY]["children"]["props"]["className"]
    assert EVIL not in json.dumps(drawer, ensure_ascii=False)
    city_session.expire_all()
    assert city_session.get(Incident, theirs.id).state == State.REPORTED


def test_the_drawer_over_http_carries_incident_text_as_a_text_child(console, city_session):
    mine = report(city_session, "441900004", EVIL)
    client = console.server.test_client()
    headers = login_client(client, LEAD)
    drawer = open_with_cursor(client, headers, console, mine.id).get_json()["response"]
    summary = drawer[ids.DRAWER_SUMMARY]["children"]
    texts = [c for c in summary["props"]["children"] if isinstance(c, dict) and c["type"] == "P"]
    assert texts[0]["props"]["children"] == EVIL and texts[0]["namespace"] == "dash_html_components"
    assert "dangerously_allow_html" not in json.dumps(drawer)
    assert drawer[ids.SELECTED]["data"]["version"] == mine.version


def test_callbacks_refuse_an_operator_and_a_request_without_the_csrf_token(console, city_session):
    incident = report(city_session, "441900004")
    client = console.server.test_client()
    headers = login_client(client, OPERATOR)
    answer = press(client, headers, console, "accept", {"id": incident.id, "version": incident.version})
    assert "登录已失效或无权使用" in json.dumps(answer.get_json(), ensure_ascii=False)
    lead = console.server.test_client()
    login_client(lead, LEAD)
    unsigned = press(lead, {}, console, "accept", {"id": incident.id, "version": incident.version})
    assert unsigned.status_code in (400, 403)
    city_session.expire_all()
    assert city_session.get(Incident, incident.id).state == State.REPORTED
