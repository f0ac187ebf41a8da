"""Catalogue items on /admin: edit names and default priority, add an item to a category;
validation by field; only a city admin changes them; the audit row; two admins at once."""
from __future__ import annotations

from sqlalchemy import select

from dashboard.admin import handlers, reads
from dashboard.admin.audit import take_snapshot
from dashboard.wall.names import Names
from models.catalogue import Category, Item
from models.org import AdminChange
from tests.admin_support import (
    actor,
    api,  # noqa: F401  (fixture)
    count,
    dump_table,
    in_request,
    list_audit,
    sessions,
    town_admin,  # noqa: F401  (fixture)
)
from tests.api_support import auth, make_report, token  # noqa: F401  (fixtures)


def item_snapshot(api, code: str) -> dict:  # noqa: F811
    with sessions(api)() as session:
        return take_snapshot(session.scalar(select(Item).where(Item.code == code)))


def category_id(api, code: int) -> int:  # noqa: F811
    with sessions(api)() as session:
        return session.scalar(select(Category.id).where(Category.code == code))


def edit(api, who: str, code: str, loaded=None, **values) -> dict:  # noqa: F811
    loaded = loaded or item_snapshot(api, code)
    form = {"name_zh": loaded["name_zh"], "name_en": loaded["name_en"],
            "default_priority": loaded["default_priority"], **values}
    with in_request(api):
        return handlers.change_item(actor(api, who), loaded["id"], loaded, form, "en")


def create(api, who: str, **values) -> dict:  # noqa: F811
    form = {"category_id": category_id(api, 14), "code": "14-06", "name_zh": "垃圾桶破损",
            "name_en": "Broken bin", "default_priority": "low", **values}
    with in_request(api):
        return handlers.create_item(actor(api, who), form, "en")


def test_it_edits_an_items_names_and_priority_with_an_audit_row(api):  # noqa: F811
    result = edit(api, "admin", "14-01", name_zh="生活垃圾未及时清运", default_priority="urgent")
    assert result["code"] == "saved", result
    after = item_snapshot(api, "14-01")
    assert after["name_zh"] == "生活垃圾未及时清运" and after["default_priority"] == "urgent"
    [row] = list_audit(api)
    assert (row.entity, row.entity_id, row.change) == ("item", after["id"], "update")
    assert row.before["default_priority"] == "normal" and row.after == after


def test_a_new_default_priority_applies_to_the_next_report(api, auth):  # noqa: F811
    edit(api, "admin", "14-01", default_priority="urgent")
    client = api.server.test_client()
    answer = client.post("/api/v1/incidents", headers=auth, json=make_report(item_code="14-01"))
    assert answer.status_code == 201 and answer.get_json()["priority"] == "urgent", answer.get_json()


def test_it_creates_an_item_in_a_category(api):  # noqa: F811
    result = create(api, "admin")
    assert result["code"] == "created", result
    created = item_snapshot(api, "14-06")
    assert created["category_id"] == category_id(api, 14) and created["default_priority"] == "low"
    [row] = list_audit(api)
    assert row.change == "create" and row.before is None and row.after == created
    with in_request(api):
        rows, _, suggested = reads.load_items(actor(api, "admin"), category_id(api, 14), "en")
    assert "14-06" in {r["code"] for r in rows} and suggested == "14-07"


def test_a_new_items_code_is_checked_by_field_and_nothing_is_written(api):  # noqa: F811
    before = dump_table(api, Item)
    cases = {"14_06": "pattern.code", "01-09": "code_prefix", "14-01": "taken", "": "missing"}
    for code, reason in cases.items():
        assert create(api, "admin", code=code)["reasons"] == {"code": reason}, code
    assert create(api, "admin", category_id=99999)["reasons"] == {"category_id": "no_category"}
    bad = create(api, "admin", name_zh=" ", name_en="x" * 200, default_priority="high")
    assert bad["reasons"] == {"name_zh": "missing", "name_en": "too_long", "default_priority": "one_of"}
    assert dump_table(api, Item) == before and count(api, AdminChange) == 0


def test_only_a_city_admin_changes_items(api, town_admin):  # noqa: F811
    before = dump_table(api, Item)
    assert edit(api, town_admin, "14-01", name_zh="改")["code"] == "forbidden"
    assert create(api, town_admin)["code"] == "forbidden"
    assert edit(api, "441900004-shiftlead-1", "14-01", name_zh="改")["code"] == "forbidden"
    assert dump_table(api, Item) == before and count(api, AdminChange) == 0
    with in_request(api):
        rows, _, _ = reads.load_items(actor(api, town_admin), category_id(api, 14), "en")
    assert "14-01" in {r["code"] for r in rows}, "a town admin still reads them"


def test_the_second_of_two_admins_editing_one_item_gets_a_conflict(api):  # noqa: F811
    loaded = item_snapshot(api, "14-01")
    assert edit(api, "admin", "14-01", loaded=loaded, name_en="Rubbish not collected")["code"] == "saved"
    second = edit(api, "admin", "14-01", loaded=loaded, default_priority="low")
    assert second["code"] == "conflict" and second["current"]["name_en"] == "Rubbish not collected"
    assert item_snapshot(api, "14-01")["default_priority"] == "normal" and len(list_audit(api)) == 1


def test_another_process_shows_a_renamed_item_once_it_sees_the_change(api):  # noqa: F811
    other = Names(sessions(api), check_seconds=0)  # another process's cache, checking every time
    first = item_snapshot(api, "14-01")
    assert other.item(first["id"]).name_zh == first["name_zh"]
    assert edit(api, "admin", "14-01", name_zh="生活垃圾未及时清运")["code"] == "saved"
    assert other.item(first["id"]).name_zh == "生活垃圾未及时清运"
    slow = Names(sessions(api), check_seconds=3600)
    assert slow.item(first["id"]).name_zh == "生活垃圾未及时清运"
    edit(api, "admin", "14-01", name_zh="另一个名字")
    assert slow.item(first["id"]).name_zh == "生活垃圾未及时清运", "checks at most every check_seconds"
