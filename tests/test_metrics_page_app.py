"""The /metrics page in the real app: the layout as each role sees it (called as a plain
function inside a logged-in request), and the export callback through Dash's HTTP endpoint
with a real login, CSRF token and all."""
from __future__ import annotations

import base64
import io
import json
from datetime import date

import pytest
from dash import no_update
from openpyxl import load_workbook

from dashboard.app import dispose
from dashboard.auth.access import PAGE_ROLES
from dashboard.metrics_page import data, ids, page, tables
from dashboard.metrics_page.definitions import CARDS, INDICATORS
from models.metrics import get_local_day, get_range
from models.types import utcnow
from tests.api_support import logged_in_request, login_client, make_api
from tests.metrics_page_support import (
    FIRST, LAST, OTHER_TOWN, TOWN, VILLAGE, build_history, get_area,
)

pytestmark = pytest.mark.db
RANGE = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
TOWN_LEADER = f"{TOWN}-leader-1"


@pytest.fixture(scope="module")
def history(city_template, tmp_path_factory, postgres):
    made = build_history(city_template, tmp_path_factory.mktemp("metrics-page-app"), postgres)
    yield made
    made.sessions.kw["bind"].dispose()
    if postgres is not None:
        postgres.drop(made.url)


@pytest.fixture
def api(history, redis_server, redis):
    app = make_api(history.sessions.kw["bind"], redis_server.url)
    if not any(ids.DOWNLOAD in output for output in app.callback_map):  # until app.py registers it
        page.register_metrics_pages(app)
    yield app
    dispose(app)


def walk(component):
    """Every component in a layout tree."""
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from walk(child)


def find(layout, ident):
    return [c for c in walk(layout) if getattr(c, "id", None) == ident]


def render(api, username: str, lang: str | None = None, **query):
    path = "/metrics?" + "&".join(f"{k}={v}" for k, v in query.items())
    with logged_in_request(api, username, path):
        return page.metrics_layout(lang=lang, **query)


# ---------------------------------------------------------------- the layout

def test_it_agrees_with_the_roles_the_auth_module_gives_the_page():
    assert data.METRICS_ROLES == PAGE_ROLES["metrics"]


def test_it_shows_a_leader_their_town(api, history):
    layout = render(api, TOWN_LEADER, **RANGE)
    assert find(layout, ids.ROOT) and find(layout, "user-bar")
    cards = [c for c in walk(layout) if isinstance(getattr(c, "id", None), dict)
             and c.id.get("type") == ids.CARD]
    assert [c.id["key"] for c in cards] == list(CARDS)
    assert all(c.title == INDICATORS[c.id["key"]].definition_zh for c in cards)  # hover text
    with history.sessions() as session:
        town = get_area(session, TOWN)
        expected = get_range(session, town.id, FIRST, LAST)
    reported = next(c for c in cards if c.id["key"] == "reported")
    assert f"{expected['reported']:,}" in str(reported)
    state = find(layout, ids.STATE)[0].data
    assert state == {"area": TOWN, **RANGE, "lang": "zh", "rank": "on_time_closure_rate",
                     "dlevel": "town"}
    drill = find(layout, ids.AREA_RANKING)[0]
    assert f"/metrics?area={VILLAGE}&from={FIRST.isoformat()}&to={LAST.isoformat()}" in str(drill)
    assert OTHER_TOWN not in str(drill)
    assert find(layout, ids.TREND) and find(layout, ids.STAGES) and not find(layout, ids.NO_DATA)


def test_it_speaks_english_when_asked(api):
    layout = render(api, TOWN_LEADER, lang="en", **RANGE)
    cards = [c for c in walk(layout) if isinstance(getattr(c, "id", None), dict)
             and c.id.get("type") == ids.CARD]
    assert cards[0].title == INDICATORS[cards[0].id["key"]].definition_en
    assert "On-time closure rate" in str(layout) and find(layout, ids.ROOT)[0].lang == "en"


def test_it_refuses_another_town_and_roles_without_metrics(api):
    refused = render(api, TOWN_LEADER, area=OTHER_TOWN, **RANGE)
    assert not find(refused, ids.STATE) and 'data-status' in str(refused.to_plotly_json())
    city = render(api, TOWN_LEADER, area="441900", **RANGE)
    assert not find(city, ids.STATE)
    for username in (f"{TOWN}-operator-1", f"{TOWN}-shiftlead-1"):
        assert not find(render(api, username, **RANGE), ids.STATE), username
    with api.server.test_request_context("/metrics"):
        anonymous = page.metrics_layout()
    assert not find(anonymous, ids.STATE) and "/login?next=" in str(anonymous)


def test_it_lets_a_city_leader_drill_down_to_a_village(api):
    layout = render(api, "city-leader-1", area=VILLAGE, **RANGE)
    crumbs = find(layout, ids.BREADCRUMB)[0]
    assert [getattr(c, "href", None) for c in crumbs.children if hasattr(c, "href")] == [
        page.components.build_href(code, FIRST, LAST, "zh") for code in ("441900", TOWN)]
    assert find(layout, ids.STATE)[0].data["area"] == VILLAGE


def test_it_says_no_data_for_a_range_without_figures(api):
    layout = render(api, TOWN_LEADER, **{"from": "2026-01-01", "to": "2026-01-07"})
    notice = find(layout, ids.NO_DATA)
    assert notice and "该日期范围内没有数据" in str(notice[0]) and LAST.isoformat() in str(notice[0])


def test_it_opens_a_new_range_or_ranking_at_its_own_address(api):
    state = {"area": TOWN, **RANGE, "lang": "en", "rank": "on_time_closure_rate", "dlevel": "town"}
    with logged_in_request(api, TOWN_LEADER, "/metrics"):
        assert page.navigate("2026-10-31", "2026-11-01", "closure_rate", "village", state) == (
            f"/metrics?area={TOWN}&from=2026-10-31&to=2026-11-01&rank=closure_rate&dlevel=village&lang=en")
        assert page.navigate(RANGE["from"], RANGE["to"], "on_time_closure_rate", "town", state) is no_update
    with api.server.test_request_context("/metrics"):  # nobody logged in
        assert page.navigate("2026-10-31", "2026-11-01", "closure_rate", "town", state) is no_update


# ---------------------------------------------------------------- export over HTTP

def call_export(client, headers: dict, state: dict, button: str = ids.EXPORT_CSV):
    body = {
        "output": f"..{ids.DOWNLOAD}.data...{ids.EXPORT_STATUS}.children..",
        "outputs": [{"id": ids.DOWNLOAD, "property": "data"},
                    {"id": ids.EXPORT_STATUS, "property": "children"}],
        "inputs": [{"id": ids.EXPORT_CSV, "property": "n_clicks", "value": 1 if button == ids.EXPORT_CSV else None},
                   {"id": ids.EXPORT_XLSX, "property": "n_clicks", "value": 1 if button == ids.EXPORT_XLSX else None}],
        "state": [{"id": ids.STATE, "property": "data", "value": state}],
        "changedPropIds": [f"{button}.n_clicks"],
    }
    return client.post("/_dash-update-component", json=body, headers=headers)


def state_for(area: str, lang: str = "zh") -> dict:
    return {"area": area, **RANGE, "lang": lang, "rank": "on_time_closure_rate", "dlevel": "town"}


def test_it_exports_the_leaders_own_town_over_http(api, history):
    client = api.server.test_client()
    headers = login_client(client, TOWN_LEADER)
    answer = call_export(client, headers, state_for(TOWN))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    download = answer.get_json()["response"][ids.DOWNLOAD]["data"]
    assert download["filename"] == f"metrics_{TOWN}_{RANGE['from']}_{RANGE['to']}.csv"
    raw = base64.b64decode(download["content"])
    assert raw.startswith(b"\xef\xbb\xbf")
    with history.sessions() as session:
        expected = get_range(session, get_area(session, TOWN).id, FIRST, LAST)
    line = next(r for r in raw.decode("utf-8-sig").splitlines() if r.startswith("按期结案率,"))
    assert line.split(",")[2] == str(tables.get_shown(INDICATORS["on_time_closure_rate"],
                                                      expected["on_time_closure_rate"]))
    workbook = call_export(client, headers, state_for(TOWN, "en"), ids.EXPORT_XLSX)
    content = base64.b64decode(workbook.get_json()["response"][ids.DOWNLOAD]["data"]["content"])
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["About", "Indicators", "Area rankings", "Department rankings", "Trend"]


def test_it_refuses_an_export_outside_the_jurisdiction(api):
    client = api.server.test_client()
    headers = login_client(client, TOWN_LEADER)
    answer = call_export(client, headers, state_for(OTHER_TOWN))
    response = answer.get_json()["response"]
    assert ids.DOWNLOAD not in response and "导出失败" in json.dumps(response, ensure_ascii=False)
    operator = api.server.test_client()
    operator_headers = login_client(operator, f"{TOWN}-operator-1")
    response = call_export(operator, operator_headers, state_for(TOWN)).get_json()["response"]
    assert ids.DOWNLOAD not in response


def test_it_refuses_an_export_without_a_login_or_csrf_token(api):
    anonymous = api.server.test_client()
    anonymous.get("/login")
    token = anonymous.get_cookie("_csrf_token")
    headers = {"X-CSRFToken": token.value} if token else {}
    answer = call_export(anonymous, headers, state_for(TOWN))
    assert answer.status_code in (200, 401, 403)
    if answer.status_code == 200:
        response = answer.get_json()["response"]
        assert ids.DOWNLOAD not in response and "请重新登录" in json.dumps(response, ensure_ascii=False)
    client = api.server.test_client()
    login_client(client, TOWN_LEADER)
    assert call_export(client, {}, state_for(TOWN)).status_code in (400, 403)


def test_it_opens_on_the_leaders_area_and_the_last_seven_days(api):
    state = find(render(api, "city-leader-1"), ids.STATE)[0].data
    period = data.Period(date.fromisoformat(state["from"]), date.fromisoformat(state["to"]))
    assert state["area"] == "441900" and period.days == 7  # the city, seven whole days
    assert period.end < get_local_day(utcnow())
