"""Who may do what, where: every role (anonymous, and the operator, shift lead and leader of
南城街道 441900004; the city's admin; an admin of 南城街道) against every screen and API
endpoint, for an incident, area or account inside their town and one in the next town
(东城街道 441900003). The expected answers are the table EXPECTED below, one cell per
(role, endpoint, place); each cell is its own test.

Everything goes over real HTTP through Flask's test client: real logins through the login
form (session cookie + X-CSRFToken, as the dash-renderer sends it), Dash pages and callbacks
through /_dash-update-component, the event stream, and the REST API. Incidents are reported
through the API by a system token. One copy of the reference city serves the whole module
(each person logs in once, so the login rate limits are never near). The admin page's
callbacks are posted as the browser posts them; items and time-limit rules are city-wide,
so their two cells agree.
"""
from __future__ import annotations

import itertools
import json
from itertools import count

import pytest
from sqlalchemy import select

from dashboard.admin import ids as admin_ids
from dashboard.admin.audit import take_snapshot
from dashboard.app import dispose
from dashboard.auth.accounts import get_staff
from dashboard.console import ids as console_ids
from dashboard.metrics_page import ids as metrics_ids
from models.area import Area
from models.catalogue import Item, SlaRule
from models.db import make_engine, make_session_factory
from models.enums import AreaLevel
from tests.api_support import (
    GRID,
    login_client,
    make_api,
    make_report,
    make_token,
    read_csrf_field,
)
from tests.conftest import copy_city
from tests.test_auth_csrf import callback_body, open_page

pytestmark = [pytest.mark.db, pytest.mark.filterwarnings(
    r"ignore:\s*The dash_table\.DataTable will be removed:DeprecationWarning")]

TOWN, OTHER_TOWN = "441900004", "441900003"
ROLES = ("anonymous", "operator", "shift_lead", "leader", "admin", "town_admin")
TOWN_ADMIN = "441900004-admin-1"  # the seeded town admin (seed/city.py TOWN_ADMINS)
USERS = {"operator": f"{TOWN}-operator-1", "shift_lead": f"{TOWN}-shiftlead-1",
         "leader": f"{TOWN}-leader-1", "admin": "admin", "town_admin": TOWN_ADMIN}
PLACES = ("inside", "outside")
ENDPOINTS = ("wall_page", "wall_stream", "wall_state", "wall_panels", "console_page", "console_queue",
             "metrics_page",
             "api_list", "api_get", "api_accept", "api_ack_alarm", "api_report",
             "admin_page", "admin_users", "admin_create_user", "admin_edit_user", "admin_edit_item",
             "admin_edit_rule")
DENIED = "登录已失效或无权使用值班长工作台"


def _row(**cells) -> dict:
    """One role's row: each endpoint's (inside, outside) expectation."""
    assert set(cells) == set(ENDPOINTS), set(ENDPOINTS) ^ set(cells)
    return cells


# What each endpoint answers. Pages: "page" (rendered), "login" (the log-in notice),
# "forbidden" (the 403 notice). Console page/queue: "listed"/"unlisted" (the incident is or is
# not in the queue), "denied" (the callback refuses). API list: "listed"/"unlisted". Others: status.
# ack-alarm on an incident with no alarm: 409 means role and jurisdiction were accepted.
# Admin page: "listed"/"unlisted" (the town is or is not an area the page offers for a new account).
# Admin changes: what the change's result says: "created", "saved", "outside" (an area outside
# the admin's), "not_found" (an account outside it), "forbidden" (items and rules: a city admin's),
# "denied" (the callback finds no admin logged in).
NO_ADMIN = {"admin_users": ("denied", "denied"), "admin_create_user": ("denied", "denied"),
            "admin_edit_user": ("denied", "denied"), "admin_edit_item": ("denied", "denied"),
            "admin_edit_rule": ("denied", "denied")}
EVERYWHERE = {"wall_page": ("page", "page"), "wall_stream": (200, 200), "wall_state": (200, 200),
              "wall_panels": (200, 200),
              "console_page": ("listed", "listed"),
              "console_queue": ("listed", "listed"), "metrics_page": ("page", "page"),
              "api_list": ("listed", "listed"), "api_get": (200, 200), "api_accept": (200, 200),
              "api_ack_alarm": (409, 409), "api_report": (201, 201)}
ROWS = {
    "anonymous": _row(wall_page=("login", "login"), wall_stream=(401, 401), wall_state=(401, 401),
                      wall_panels=(401, 401),
                      console_page=("login", "login"), console_queue=("denied", "denied"),
                      metrics_page=("login", "login"), api_list=(401, 401), api_get=(401, 401),
                      api_accept=(401, 401), api_ack_alarm=(401, 401), api_report=(401, 401),
                      admin_page=("login", "login"), **NO_ADMIN),
    "operator": _row(wall_page=("page", "forbidden"), wall_stream=(200, 403), wall_state=(200, 403),
                     wall_panels=(200, 403),
                     console_page=("forbidden", "forbidden"), console_queue=("denied", "denied"),
                     metrics_page=("forbidden", "forbidden"), api_list=("listed", "unlisted"),
                     api_get=(200, 404), api_accept=(403, 403), api_ack_alarm=(403, 403),
                     api_report=(403, 403), admin_page=("forbidden", "forbidden"), **NO_ADMIN),
    "shift_lead": _row(wall_page=("page", "forbidden"), wall_stream=(200, 403), wall_state=(200, 403),
                       wall_panels=(200, 403),
                       console_page=("listed", "unlisted"), console_queue=("listed", "unlisted"),
                       metrics_page=("forbidden", "forbidden"), api_list=("listed", "unlisted"),
                       api_get=(200, 404), api_accept=(200, 403), api_ack_alarm=(409, 403),
                       api_report=(201, 403), admin_page=("forbidden", "forbidden"), **NO_ADMIN),
    "leader": _row(wall_page=("page", "forbidden"), wall_stream=(200, 403), wall_state=(200, 403),
                   wall_panels=(200, 403),
                   console_page=("forbidden", "forbidden"), console_queue=("denied", "denied"),
                   metrics_page=("page", "forbidden"), api_list=("listed", "unlisted"),
                   api_get=(200, 404), api_accept=(403, 403), api_ack_alarm=(403, 403),
                   api_report=(403, 403), admin_page=("forbidden", "forbidden"), **NO_ADMIN),
    "admin": _row(**EVERYWHERE, admin_page=("listed", "listed"), admin_users=("listed", "listed"),
                  admin_create_user=("created", "created"), admin_edit_user=("saved", "saved"),
                  admin_edit_item=("saved", "saved"), admin_edit_rule=("saved", "saved")),
    # An admin of a town reads everything everywhere, as every admin does, but manages only
    # the accounts of their town and beneath, and only reads items and time-limit rules.
    "town_admin": _row(**EVERYWHERE, admin_page=("listed", "unlisted"), admin_users=("listed", "unlisted"),
                       admin_create_user=("created", "outside"), admin_edit_user=("saved", "not_found"),
                       admin_edit_item=("forbidden", "forbidden"), admin_edit_rule=("forbidden", "forbidden")),
}
EXPECTED = {(role, endpoint, place): cells[endpoint][n]
            for role, cells in ROWS.items() for endpoint in cells for n, place in enumerate(PLACES)}


# ---------------------------------------------------------------- the world, once per module

class World:
    """The app, a test client per role (logged in once) with its CSRF header, the two towns'
    area ids and grids, and a system token for reporting."""

    def __init__(self, app, engine):
        self.app, self.engine = app, engine
        self.token = {"Authorization": f"Bearer {make_token(engine, 'matrix-intake')}"}
        with make_session_factory(engine)() as session:
            self.area_ids = dict(session.execute(
                select(Area.code, Area.id).where(Area.code.in_([TOWN, OTHER_TOWN]))).all())
            other_grid = session.scalar(select(Area.code).where(
                Area.level == AreaLevel.GRID, Area.code.like(f"{OTHER_TOWN}%")).order_by(Area.code))
        assert set(self.area_ids) == {TOWN, OTHER_TOWN} and other_grid, "the reference city lacks the towns"
        self.grids = {"inside": GRID, "outside": other_grid}
        self.towns = {"inside": TOWN, "outside": OTHER_TOWN}
        self.clients, self.headers = {}, {}
        for role in ROLES:
            client = app.server.test_client()
            if role == "anonymous":
                client.get("/login")  # the CSRF cookie an anonymous browser would have
                self.headers[role] = {"X-CSRFToken": client.get_cookie("_csrf_token").value}
            else:
                self.headers[role] = login_client(client, USERS[role])
            self.clients[role] = client
        self.incidents = {place: self.report(place) for place in PLACES}
        self.serial = count(1)  # new names for each admin change

    def report(self, place: str) -> dict:
        answer = self.clients["anonymous"].post("/api/v1/incidents", headers=self.token,
                                                json=make_report(grid_code=self.grids[place]))
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()


@pytest.fixture(scope="module")
def world(city_template, tmp_path_factory, postgres, redis_server):
    url = copy_city(city_template, tmp_path_factory.mktemp("matrix"), postgres)
    engine = make_engine(url)
    app = make_api(engine, redis_server.url, RATELIMIT_STORAGE_URI="memory://")
    try:
        yield World(app, engine)
    finally:
        dispose(app)
        engine.dispose()
        if postgres is not None:
            postgres.drop(url)


# ---------------------------------------------------------------- reading each answer

def render(world: World, role: str, path: str) -> str:
    """The Dash pages router's answer for `path` as this role's browser asks for it."""
    answer = world.clients[role].post("/_dash-update-component", json=open_page(world.app, path),
                                      headers=world.headers[role])
    assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.get_data(as_text=True)[:300]}"
    return answer.get_data(as_text=True)


def read_notice(page: str) -> str | None:
    if "auth-login" in page:
        return "login"
    if "auth-forbidden" in page:
        return "forbidden"
    return None


def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def queue_ids(tree) -> set[int]:
    tables = [n for n in walk(tree) if n.get("props", {}).get("id") == console_ids.QUEUE]
    assert len(tables) == 1, "the console page has one queue table"
    return {row["id"] for row in tables[0]["props"]["data"]}


def listed(found: bool) -> str:
    return "listed" if found else "unlisted"


def check_wall_page(world, role, place, incident):
    page = render(world, role, f"/wall/town/{world.towns[place]}")
    return read_notice(page) or ("page" if '"wall-root"' in page else f"neither: {page[:200]}")


def check_wall_stream(world, role, place, incident):
    answer = world.clients[role].get(f"/wall/stream/{world.area_ids[world.towns[place]]}", buffered=False)
    status = answer.status_code
    if status == 200:
        assert answer.mimetype == "text/event-stream"
    answer.close()
    return status


def check_wall_state(world, role, place, incident):
    answer = world.clients[role].get(f"/wall/state/{world.area_ids[world.towns[place]]}")
    if answer.status_code == 200:
        assert [k["key"] for k in answer.get_json()["kpis"]][0] == "reported", "a wall's state"
    return answer.status_code


def check_wall_panels(world, role, place, incident):
    answer = world.clients[role].get(f"/wall/panels/{world.area_ids[world.towns[place]]}")
    if answer.status_code == 200:
        assert set(answer.get_json()["map"]) == {"count", "anomaly"}, "a wall's panels state"
    return answer.status_code


def check_console_page(world, role, place, incident):
    page = render(world, role, "/console")
    return read_notice(page) or listed(incident["id"] in queue_ids(json.loads(page)))


def queue_callback(app) -> dict:
    """The queue refresh the console's interval triggers."""
    filters = (console_ids.FILTER_STATE, console_ids.FILTER_CATEGORY, console_ids.FILTER_LEVEL,
               console_ids.FILTER_DEPARTMENT, console_ids.FILTER_OVERDUE)
    inputs = [{"id": f, "property": "value", "value": None} for f in filters] + [
        {"id": console_ids.QUEUE, "property": "page_current", "value": 0},
        {"id": console_ids.TICK, "property": "n_intervals", "value": 1},
        {"id": console_ids.LIVE, "property": "data", "value": None},
        {"id": console_ids.REFRESH, "property": "data", "value": None}]
    body = callback_body(app, f"{console_ids.QUEUE}.data", inputs, [
        {"id": console_ids.QUEUE, "property": "selected_row_ids", "value": []},
        {"id": console_ids.CTX, "property": "data", "value": {"lang": "zh"}}])
    body["changedPropIds"] = [f"{console_ids.TICK}.n_intervals"]
    return body


def check_console_queue(world, role, place, incident):
    answer = world.clients[role].post("/_dash-update-component", json=queue_callback(world.app),
                                      headers=world.headers[role])
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    response = answer.get_json()["response"]
    if DENIED in json.dumps(response[console_ids.QUEUE_COUNT], ensure_ascii=False):
        assert response[console_ids.QUEUE]["data"] == []
        return "denied"
    return listed(incident["id"] in {row["id"] for row in response[console_ids.QUEUE]["data"]})


def check_metrics_page(world, role, place, incident):
    page = render(world, role, f"/metrics?area={world.towns[place]}")
    return read_notice(page) or ("page" if f'"{metrics_ids.CARDS}"' in page else f"neither: {page[:200]}")


def check_api_list(world, role, place, incident):
    answer = world.clients[role].get("/api/v1/incidents?limit=200")
    if answer.status_code != 200:
        return answer.status_code
    return listed(incident["id"] in {i["id"] for i in answer.get_json()["items"]})


def check_api_get(world, role, place, incident):
    return world.clients[role].get(f"/api/v1/incidents/{incident['id']}").status_code


def _act(world, role, incident, action):
    return world.clients[role].post(f"/api/v1/incidents/{incident['id']}/actions/{action}",
                                    json={"expected_version": incident["version"]},
                                    headers=world.headers[role]).status_code


def check_api_accept(world, role, place, incident):
    return _act(world, role, world.report(place), "accept")  # a fresh one: accepting changes it


def check_api_ack_alarm(world, role, place, incident):
    return _act(world, role, incident, "ack-alarm")


def check_api_report(world, role, place, incident):
    return world.clients[role].post("/api/v1/incidents", json=make_report(grid_code=world.grids[place]),
                                    headers=world.headers[role]).status_code


# ---------------------------------------------------------------- the admin page

def town_user(world, place: str) -> str:
    return f"{world.towns[place]}-operator-1"


def check_admin_page(world, role, place, incident):
    """Whether the town is among the areas the page offers for a new account."""
    page = render(world, role, "/admin")
    if read_notice(page):
        return read_notice(page)
    [dropdown] = [n for n in walk(json.loads(page)) if n.get("props", {}).get("id") == admin_ids.NEW_AREA]
    return listed(world.area_ids[world.towns[place]] in {o["value"] for o in dropdown["props"]["options"]})


def post_callback(world, role, body) -> dict:
    answer = world.clients[role].post("/_dash-update-component", json=body, headers=world.headers[role])
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return answer.get_json()["response"]


def check_admin_users(world, role, place, incident):
    """The accounts list filtered to the town's operators (the area filter is the browser's)."""
    filters = ((admin_ids.USER_FILTER_ROLE, "operator"),
               (admin_ids.USER_FILTER_AREA, world.area_ids[world.towns[place]]), (admin_ids.USER_FILTER_ACTIVE, None))
    body = callback_body(world.app, f"{admin_ids.USERS}.data",
                         [{"id": f, "property": "value", "value": v} for f, v in filters]
                         + [{"id": admin_ids.USERS_REFRESH, "property": "data", "value": "now"}],
                         [{"id": admin_ids.CTX, "property": "data", "value": {"lang": "zh"}}])
    body["changedPropIds"] = [f"{admin_ids.USERS_REFRESH}.data"]
    response = post_callback(world, role, body)
    if "无权使用系统管理" in json.dumps(response[admin_ids.USERS_COUNT], ensure_ascii=False):
        assert response[admin_ids.USERS]["data"] == []
        return "denied"
    return listed(town_user(world, place) in {row["username"] for row in response[admin_ids.USERS]["data"]})


def admin_write(world, role, marker: str, buttons: tuple, trigger: str, states: list[tuple]) -> dict:
    """Post a write callback as the browser does when `trigger` is clicked; its result."""
    inputs = [{"id": b, "property": "n_clicks", "value": 1 if b == trigger else 0} for b in buttons]
    state = [{"id": i, "property": p, "value": v} for i, p, v in states]
    body = callback_body(world.app, f"{marker}.data", inputs,
                         state + [{"id": admin_ids.CTX, "property": "data", "value": {"lang": "en"}}])
    body["changedPropIds"] = [f"{trigger}.n_clicks"]
    response = post_callback(world, role, body)
    result = response[RESULTS[marker]]["data"]
    if result["code"] == "invalid" and result["reasons"] == {"area_id": "area_outside"}:
        return "outside"
    return result["code"]


RESULTS = {admin_ids.USERS_REFRESH: admin_ids.USER_RESULT, admin_ids.ITEMS_REFRESH: admin_ids.ITEM_RESULT,
           admin_ids.RULES_REFRESH: admin_ids.RULE_RESULT}
USER_BUTTONS = (admin_ids.NEW_CREATE, admin_ids.EDIT_SAVE, admin_ids.EDIT_ACTIVE, admin_ids.EDIT_RESET)


def read_snapshot(world, model, **where) -> dict:
    with make_session_factory(world.engine)() as session:
        if model is Item:
            return take_snapshot(session.scalar(select(Item).where(Item.code == where["code"])))
        if model is SlaRule:
            return take_snapshot(session.get(SlaRule, where["id"]))
        return take_snapshot(get_staff(session, where["username"]))


def check_admin_create_user(world, role, place, incident):
    n = next(world.serial)
    states = [(admin_ids.NEW_USERNAME, "value", f"matrix-{n}"), (admin_ids.NEW_NAME, "value", f"新账号{n}"),
              (admin_ids.NEW_ROLE, "value", "operator"),
              (admin_ids.NEW_AREA, "value", world.area_ids[world.towns[place]]),
              (admin_ids.NEW_PASSWORD, "value", "matrix-password-1")]
    edit = [(admin_ids.EDIT_NAME, "value", None), (admin_ids.EDIT_ROLE, "value", None),
            (admin_ids.EDIT_AREA, "value", None), (admin_ids.EDIT_PASSWORD, "value", None),
            (admin_ids.EDIT_LOADED, "data", None)]
    return admin_write(world, role, admin_ids.USERS_REFRESH, USER_BUTTONS, admin_ids.NEW_CREATE, states + edit)


def check_admin_edit_user(world, role, place, incident):
    loaded = read_snapshot(world, None, username=f"{world.towns[place]}-operator-2")
    new = [(admin_ids.NEW_USERNAME, "value", None), (admin_ids.NEW_NAME, "value", None),
           (admin_ids.NEW_ROLE, "value", None), (admin_ids.NEW_AREA, "value", None),
           (admin_ids.NEW_PASSWORD, "value", None)]
    edit = [(admin_ids.EDIT_NAME, "value", f"改名{next(world.serial)}"), (admin_ids.EDIT_ROLE, "value", loaded["role"]),
            (admin_ids.EDIT_AREA, "value", loaded["area_id"]), (admin_ids.EDIT_PASSWORD, "value", None),
            (admin_ids.EDIT_LOADED, "data", loaded)]
    return admin_write(world, role, admin_ids.USERS_REFRESH, USER_BUTTONS, admin_ids.EDIT_SAVE, new + edit)


def check_admin_edit_item(world, role, place, incident):
    loaded = read_snapshot(world, Item, code="01-01")
    states = [(admin_ids.ITEM_NAME_ZH, "value", loaded["name_zh"]),
              (admin_ids.ITEM_NAME_EN, "value", f"Blocked fire exit {next(world.serial)}"),
              (admin_ids.ITEM_PRIORITY, "value", loaded["default_priority"]), (admin_ids.ITEM_LOADED, "data", loaded),
              (admin_ids.ITEM_CATEGORY, "value", loaded["category_id"]), (admin_ids.ITEM_NEW_CODE, "value", None),
              (admin_ids.ITEM_NEW_NAME_ZH, "value", None), (admin_ids.ITEM_NEW_NAME_EN, "value", None),
              (admin_ids.ITEM_NEW_PRIORITY, "value", None)]
    return admin_write(world, role, admin_ids.ITEMS_REFRESH, (admin_ids.ITEM_SAVE, admin_ids.ITEM_CREATE),
                       admin_ids.ITEM_SAVE, states)


def check_admin_edit_rule(world, role, place, incident):
    with make_session_factory(world.engine)() as session:  # the handle limit of item 01-01
        rule_id = session.scalar(select(SlaRule.id).join(Item, Item.id == SlaRule.item_id).where(Item.code == "01-01"))
    loaded = read_snapshot(world, SlaRule, id=rule_id)
    fields = (admin_ids.RULE_STAGE, admin_ids.RULE_PRIORITY, admin_ids.RULE_CATEGORY, admin_ids.RULE_ITEM,
              admin_ids.RULE_MINUTES, admin_ids.RULE_CLOCK)
    values = (loaded["stage"], loaded["priority"], loaded["category_id"], loaded["item_id"],
              loaded["minutes"] + 1, loaded["clock"])
    states = [(f, "value", v) for f, v in zip(fields, values)] + [(admin_ids.RULE_LOADED, "data", loaded)]
    return admin_write(world, role, admin_ids.RULES_REFRESH,
                       (admin_ids.RULE_SAVE, admin_ids.RULE_CREATE, admin_ids.RULE_DELETE), admin_ids.RULE_SAVE, states)


CHECKS = {name: globals()[f"check_{name}"] for name in ENDPOINTS}


# ---------------------------------------------------------------- the tests

def test_the_table_has_a_cell_for_every_role_endpoint_and_place():
    every = set(itertools.product(ROLES, ENDPOINTS, PLACES))
    assert set(EXPECTED) == every, f"missing: {every - set(EXPECTED)}; extra: {set(EXPECTED) - every}"
    assert set(CHECKS) == set(ENDPOINTS)
    assert len(EXPECTED) == 6 * 18 * 2


@pytest.mark.parametrize(("role", "endpoint", "place"), sorted(EXPECTED, key=lambda k: (
    ROLES.index(k[0]), ENDPOINTS.index(k[1]), k[2])))
def test_each_cell(world, role, endpoint, place):
    found = CHECKS[endpoint](world, role, place, world.incidents[place])
    assert found == EXPECTED[role, endpoint, place], f"{role} {endpoint} {place}: {found!r}"


# ---------------------------------------------------------------- CSRF and logout

def test_an_api_write_with_a_session_and_no_csrf_token_is_refused(world):
    client = world.clients["shift_lead"]
    refused = client.post("/api/v1/incidents", json=make_report())
    assert refused.status_code == 403 and refused.get_json()["error"] == "csrf_failed"
    incident = world.report("inside")
    action = client.post(f"/api/v1/incidents/{incident['id']}/actions/accept",
                         json={"expected_version": incident["version"]})
    assert action.status_code == 403
    again = client.get(f"/api/v1/incidents/{incident['id']}").get_json()
    assert again["version"] == incident["version"] and again["state"] == incident["state"]


def test_a_dash_callback_without_the_csrf_token_is_refused(world):
    client = world.clients["shift_lead"]
    assert client.post("/_dash-update-component", json=queue_callback(world.app)).status_code == 403
    forged = client.post("/_dash-update-component", json=queue_callback(world.app),
                         headers={"X-CSRFToken": "forged"})
    assert forged.status_code == 403


def test_a_logout_without_the_csrf_token_is_refused_and_a_logout_ends_the_session(world):
    client = world.app.server.test_client()
    headers = login_client(client, f"{TOWN}002-operator-1")
    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/api/v1/me").status_code == 200, "the refused logout changed nothing"
    old_session = client.get_cookie("session").value
    token = read_csrf_field(client.get("/login").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}, headers=headers).status_code == 303
    assert client.get("/api/v1/me").status_code == 401
    replay = world.app.server.test_client()
    replay.set_cookie("session", old_session)
    assert replay.get("/api/v1/me").status_code == 401, "the old cookie is dead after logout"
    assert replay.get(f"/wall/stream/{world.area_ids[TOWN]}").status_code == 401
