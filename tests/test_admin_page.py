"""The /admin layout as each admin gets it (the layout function in a request with that person
logged in): what it lists, what it lets them change, and whose changes its audit log shows."""
from __future__ import annotations

import json

import pytest

from dashboard.admin import handlers, ids
from dashboard.admin.page import build_admin
from dashboard.auth.accounts import get_staff
from tests.admin_support import (
    OTHER_TOWN,
    TOWN,
    TOWN_ADMIN,
    actor,
    api,  # noqa: F401  (fixture)
    in_request,
    sessions,
    staff_snapshot,
    town_admin,  # noqa: F401  (fixture)
)
from tests.api_support import logged_in_request
from tests.components import find, walk
from tests.test_admin_rules import find_rule, save

pytestmark = pytest.mark.filterwarnings(r"ignore:\s*The dash_table\.DataTable will be removed:DeprecationWarning")

def render(api, username: str, lang: str = "zh"):  # noqa: F811
    with logged_in_request(api, username, "/admin"):
        return build_admin(lang=lang)


def text_of(tree) -> str:
    return json.dumps(tree.to_plotly_json(), ensure_ascii=False, default=str)


def test_the_city_admin_gets_every_section_editable_in_english_when_asked(api):  # noqa: F811
    page = render(api, "admin", "en")
    assert find(page, ids.ROOT).lang == "en" and "Administration" in text_of(page)
    assert not find(page, ids.RULE_SAVE).disabled and not find(page, ids.ITEM_CREATE).disabled
    assert "Read-only" not in text_of(page)
    rows = find(page, ids.USERS).data
    assert len(rows) == 500 and "first 500 shown" in text_of(find(page, ids.USERS_COUNT))


def test_a_town_admin_lists_their_towns_accounts_and_reads_items_and_rules_only(api, town_admin):  # noqa: F811
    page = render(api, town_admin)
    usernames = {row["username"] for row in find(page, ids.USERS).data}
    assert {f"{TOWN}-operator-1", TOWN_ADMIN} <= usernames
    assert not any(u.startswith(OTHER_TOWN) or u == "admin" for u in usernames)
    area_values = {o["value"] for o in find(page, ids.NEW_AREA).options}
    with sessions(api)() as session:
        other = get_staff(session, f"{OTHER_TOWN}-operator-1").area_id
        own = get_staff(session, TOWN_ADMIN).area_id
    assert own in area_values and other not in area_values
    for ident in (ids.RULE_SAVE, ids.RULE_CREATE, ids.RULE_DELETE, ids.ITEM_SAVE, ids.ITEM_CREATE):
        assert find(page, ident).disabled, ident
    assert "只读" in text_of(page) and len(find(page, ids.RULES).data) > 20


def test_the_audit_log_shows_a_town_admin_only_what_is_theirs_to_see(api, town_admin):  # noqa: F811
    other = staff_snapshot(api, f"{OTHER_TOWN}-operator-1")
    mine = staff_snapshot(api, f"{TOWN}-operator-1")
    with in_request(api):
        for loaded in (other, mine):
            assert handlers.change_user(actor(api, "admin"), "save", loaded["id"], loaded,
                                        {"name": "审计测试", "role": loaded["role"], "area_id": loaded["area_id"]},
                                        "zh")["ok"]
    assert save(api, "admin", find_rule(api, "check", "urgent"), minutes=100)["ok"]

    def shown(username: str) -> list[tuple[str, str]]:
        """(entity, "what" cell) of each audit row the page shows, newest first."""
        rows = [(n.to_plotly_json()["props"], n) for n in walk(find(render(api, username), ids.AUDIT))]
        return [(props["data-entity"], n.children[2].children) for props, n in rows if props.get("data-entity")]

    assert [entity for entity, _ in shown("admin")] == ["sla_rule", "staff", "staff"]
    assert shown(town_admin) == [shown("admin")[0], ("staff", f"账号 #{mine['id']}")], \
        "the rule change and their own town's account, not the other town's"
