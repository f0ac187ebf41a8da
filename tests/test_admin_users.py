"""Accounts on /admin, through the handlers the page's callbacks call: create, change,
deactivate, reactivate, reset a password; validation by field; jurisdiction; the audit row
of each change; two admins editing the same person; logins ended at once."""
from __future__ import annotations

import threading

from dashboard.admin import handlers, reads
from dashboard.auth.passwords import verify_password
from models.org import AdminChange, Staff, StaffLogin
from tests.admin_support import (
    OTHER_TOWN,
    PASSWORD,
    TOWN,
    TOWN_ADMIN,
    VILLAGE,
    actor,
    api,  # noqa: F401  (fixture)
    area_id,
    count,
    dump_table,
    in_request,
    list_audit,
    read_staff,
    sessions,
    staff_snapshot,
    town_admin,  # noqa: F401  (fixture)
)
from tests.api_support import login_client


def new_user(api, **overrides) -> dict:  # noqa: F811
    values = {"username": "wang.fang", "name": "王芳", "role": "operator", "area_id": area_id(api, VILLAGE),
              "password": PASSWORD}
    return {**values, **overrides}


def create(api, who: str, values: dict, lang: str = "en") -> dict:  # noqa: F811
    with in_request(api):
        return handlers.create_user(actor(api, who), values, lang)


def change(api, who: str, action: str, username: str, values: dict | None = None, loaded=None,  # noqa: F811
           lang: str = "en") -> dict:
    loaded = staff_snapshot(api, username) if loaded is None else loaded
    with in_request(api):
        return handlers.change_user(actor(api, who), action, loaded["id"], loaded, values or {}, lang)


def edit_values(api, username: str, **overrides) -> dict:  # noqa: F811
    loaded = staff_snapshot(api, username)
    return {"name": loaded["name"], "role": loaded["role"], "area_id": loaded["area_id"], **overrides}


# ---------------------------------------------------------------- create

def test_it_creates_a_user_who_can_log_in_and_writes_one_audit_row(api):  # noqa: F811
    result = create(api, "admin", new_user(api))
    assert result["ok"] and result["code"] == "created", result
    staff = read_staff(api, "wang.fang")
    assert (staff.name, staff.role.value, staff.area_id, staff.active) == (
        "王芳", "operator", area_id(api, VILLAGE), True)
    assert verify_password(staff.password_hash, PASSWORD) and PASSWORD not in staff.password_hash
    [row] = list_audit(api)
    assert (row.entity, row.entity_id, row.change, row.before) == ("staff", staff.id, "create", None)
    assert row.after == {"id": staff.id, "username": "wang.fang", "name": "王芳", "role": "operator",
                         "area_id": area_id(api, VILLAGE), "active": True}
    assert row.actor_name == actor(api, "admin").name and row.actor_id == actor(api, "admin").id
    login_client(api.server.test_client(), "wang.fang", PASSWORD)  # fails the test if refused


def test_it_names_each_field_at_fault_and_writes_nothing(api):  # noqa: F811
    before_staff, before_audit = dump_table(api, Staff), count(api, AdminChange)
    bad = new_user(api, username="Bad Name!", name="", role="boss", area_id="12", password="short")
    result = create(api, "admin", bad)
    assert not result["ok"] and result["code"] == "invalid"
    assert result["reasons"] == {"username": "pattern.username", "name": "missing", "role": "one_of",
                                 "area_id": "whole_number", "password": "password_rule"}
    assert "Username" in result["errors"]["username"] and "a-z" in result["errors"]["username"]
    assert "8" in result["errors"]["password"]
    assert dump_table(api, Staff) == before_staff and count(api, AdminChange) == before_audit


def test_the_errors_are_in_chinese_by_default(api):  # noqa: F811
    result = create(api, "admin", new_user(api, password="short"), lang="zh")
    assert result["errors"]["password"].startswith("初始密码") and "8 至 1024" in result["errors"]["password"]


def test_a_taken_username_is_refused_by_field(api):  # noqa: F811
    result = create(api, "admin", new_user(api, username=f"{TOWN}-operator-1"))
    assert result["reasons"] == {"username": "taken"}
    assert count(api, AdminChange) == 0


def test_a_town_admin_creates_users_in_their_town_and_beneath_only(api, town_admin):  # noqa: F811
    assert create(api, town_admin, new_user(api, username="in.village"))["ok"]
    assert create(api, town_admin, new_user(api, username="in.town", area_id=area_id(api, TOWN)))["ok"]
    before = dump_table(api, Staff)
    outside = create(api, town_admin, new_user(api, username="in.other", area_id=area_id(api, OTHER_TOWN)))
    assert outside["reasons"] == {"area_id": "area_outside"}
    city = create(api, town_admin, new_user(api, username="in.city", area_id=area_id(api, "441900")))
    assert city["reasons"] == {"area_id": "area_outside"}
    assert dump_table(api, Staff) == before
    assert [r.after["username"] for r in list_audit(api)] == ["in.village", "in.town"]


def test_a_grid_is_not_an_area_to_give_an_account(api):  # noqa: F811
    result = create(api, "admin", new_user(api, area_id=area_id(api, VILLAGE + "001")))
    assert result["reasons"] == {"area_id": "area_level"}


def test_a_non_admin_is_refused_even_with_a_handler_call(api):  # noqa: F811
    result = create(api, f"{TOWN}-shiftlead-1", new_user(api))
    assert result["code"] == "forbidden" and count(api, AdminChange) == 0
    assert create(api, "admin", new_user(api))["ok"]


# ---------------------------------------------------------------- change, deactivate, reset

def test_it_changes_name_role_and_area_with_before_and_after(api):  # noqa: F811
    username = f"{TOWN}-operator-1"
    result = change(api, "admin", "save", username,
                    edit_values(api, username, name="新名字", role="shift_lead", area_id=area_id(api, VILLAGE)))
    assert result["code"] == "saved", result
    staff = read_staff(api, username)
    assert (staff.name, staff.role.value, staff.area_id) == ("新名字", "shift_lead", area_id(api, VILLAGE))
    [row] = list_audit(api)
    assert row.change == "update" and row.before["role"] == "operator" and row.after["role"] == "shift_lead"
    assert row.before["area_id"] == area_id(api, TOWN) and row.after["name"] == "新名字"
    assert result["loaded"] == staff_snapshot(api, username), "the form's new 'as loaded'"


def test_saving_what_is_there_changes_nothing_and_writes_no_audit_row(api):  # noqa: F811
    username = f"{TOWN}-operator-1"
    assert change(api, "admin", "save", username, edit_values(api, username))["code"] == "unchanged"
    assert count(api, AdminChange) == 0


def test_deactivating_ends_the_persons_logins_at_once_and_reactivating_lets_them_in(api):  # noqa: F811
    username = f"{TOWN}-leader-1"
    browser = api.server.test_client()
    login_client(browser, username)
    assert browser.get("/api/v1/me").status_code == 200
    result = change(api, "admin", "active", username)
    assert result["code"] == "deactivated" and result["loaded"]["active"] is False
    assert browser.get("/api/v1/me").status_code == 401, "the open login ended with the change"
    with sessions(api)() as session:
        staff = read_staff(api, username)
        logins = list(session.query(StaffLogin).filter_by(staff_id=staff.id))
    assert logins and all(login.ended_at is not None for login in logins)
    assert change(api, "admin", "active", username)["code"] == "reactivated"
    assert [r.change for r in list_audit(api)] == ["deactivate", "reactivate"]
    login_client(api.server.test_client(), username)


def test_a_password_reset_ends_logins_and_is_audited_without_the_hash(api):  # noqa: F811
    username = f"{TOWN}-leader-1"
    browser = api.server.test_client()
    login_client(browser, username)
    old_hash = read_staff(api, username).password_hash
    result = change(api, "admin", "password", username, {"password": "another-pass-2"})
    assert result["code"] == "password", result
    assert browser.get("/api/v1/me").status_code == 401
    new_hash = read_staff(api, username).password_hash
    assert verify_password(new_hash, "another-pass-2")
    [row] = list_audit(api)
    text = repr((row.before, row.after))
    assert row.change == "set_password" and old_hash not in text and new_hash not in text
    assert "another-pass-2" not in text and "argon2" not in text
    assert change(api, "admin", "password", username, {"password": "short"})["reasons"] == {
        "password": "password_rule"}


def test_an_admin_cannot_deactivate_demote_move_or_reset_themselves(api, town_admin):  # noqa: F811
    before = dump_table(api, Staff)
    assert change(api, town_admin, "active", town_admin)["reasons"] == {"active": "self_deactivate"}
    demote = change(api, town_admin, "save", town_admin, edit_values(api, town_admin, role="leader"))
    assert demote["reasons"] == {"role": "self_role"}
    move = change(api, town_admin, "save", town_admin, edit_values(api, town_admin, area_id=area_id(api, VILLAGE)))
    assert move["reasons"] == {"area_id": "self_role"}
    reset = change(api, town_admin, "password", town_admin, {"password": "another-pass-2"})
    assert reset["reasons"] == {"password": "self_password"}
    assert dump_table(api, Staff) == before and count(api, AdminChange) == 0
    renamed = change(api, town_admin, "save", town_admin, edit_values(api, town_admin, name="改名"))
    assert renamed["code"] == "saved", "a new name is fine"


def test_a_town_admin_cannot_touch_another_towns_user(api, town_admin):  # noqa: F811
    before = dump_table(api, Staff)
    other = f"{OTHER_TOWN}-operator-1"
    for action, values in (("save", edit_values(api, other, name="x")), ("active", {}),
                           ("password", {"password": "another-pass-2"})):
        assert change(api, town_admin, action, other, values)["code"] == "not_found", action
    with in_request(api):
        assert "error" in reads.open_record("user", actor(api, town_admin), read_staff(api, other).id, "en")
    mine = f"{TOWN}-operator-1"
    moved = change(api, town_admin, "save", mine, edit_values(api, mine, area_id=area_id(api, OTHER_TOWN)))
    assert moved["reasons"] == {"area_id": "area_outside"}
    assert dump_table(api, Staff) == before


def test_the_list_keeps_to_the_admins_area_and_filters(api, town_admin):  # noqa: F811
    with in_request(api):
        town_rows, _, total = reads.load_users(actor(api, town_admin), None, None, None, "en")
        names = {r["username"] for r in town_rows}
        assert f"{TOWN}-operator-1" in names and f"{VILLAGE}-leader-1" in names and TOWN_ADMIN in names
        assert not any(n.startswith((OTHER_TOWN, "city-")) or n == "admin" for n in names)
        leaders, _, _ = reads.load_users(actor(api, town_admin), "leader", area_id(api, VILLAGE), None, "en")
        assert {r["username"] for r in leaders} == {f"{VILLAGE}-leader-1"}
        smuggled, _, _ = reads.load_users(actor(api, town_admin), None, area_id(api, OTHER_TOWN), None, "en")
        assert smuggled == [], "an area outside the jurisdiction sent by the browser matches nothing"
        everyone, shown, city_total = reads.load_users(actor(api, "admin"), None, None, None, "en")
        assert city_total > total and shown == len(everyone) <= 500
        admins, _, _ = reads.load_users(actor(api, "admin"), "admin", None, None, "en")
        assert {r["username"] for r in admins} == {"admin", f"{TOWN}-admin-1", TOWN_ADMIN}
    change(api, "admin", "active", f"{TOWN}-operator-1")
    with in_request(api):
        inactive, _, _ = reads.load_users(actor(api, town_admin), None, None, "no", "en")
    assert [r["username"] for r in inactive] == [f"{TOWN}-operator-1"]


# ---------------------------------------------------------------- two admins at once

def test_the_second_of_two_admins_editing_one_user_gets_a_conflict(api, town_admin):  # noqa: F811
    username = f"{TOWN}-operator-1"
    loaded = staff_snapshot(api, username)  # both open the same person
    first = change(api, "admin", "save", username, edit_values(api, username, name="甲改"), loaded=loaded)
    assert first["code"] == "saved"
    second = change(api, town_admin, "save", username, {**edit_values(api, username), "name": "乙改"},
                    loaded=loaded)
    assert second["code"] == "conflict" and second["current"]["name"] == "甲改"
    assert "甲改" in " ".join(second["message"])
    assert read_staff(api, username).name == "甲改" and len(list_audit(api)) == 1
    stale_deactivate = change(api, town_admin, "active", username, loaded=loaded)
    assert stale_deactivate["code"] == "conflict" and read_staff(api, username).active


def test_two_admins_saving_at_the_same_moment_one_wins(api, town_admin):  # noqa: F811
    username = f"{TOWN}-operator-1"
    loaded = staff_snapshot(api, username)
    start, results = threading.Barrier(2), {}

    def save(who: str, name: str) -> None:
        start.wait()
        results[who] = change(api, who, "save", username, {**edit_values(api, username), "name": name},
                              loaded=loaded)

    threads = [threading.Thread(target=save, args=(who, name)) for who, name in
               (("admin", "甲"), (town_admin, "乙"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = sorted(r["code"] for r in results.values())
    assert codes == ["conflict", "saved"], results
    winner = next(who for who, r in results.items() if r["code"] == "saved")
    assert read_staff(api, username).name == {"admin": "甲", town_admin: "乙"}[winner]
    assert len(list_audit(api)) == 1


def test_filters_and_ids_of_the_wrong_shape_are_refused_quietly(api):  # noqa: F811
    """The browser can send anything: a list for a role, text for an id, a forged snapshot."""
    with in_request(api):
        admin = actor(api, "admin")
        assert reads.load_users(admin, ["admin"], None, None, "en")[0] == []
        assert reads.load_users(admin, None, "441900004", {"x": 1}, "en")[0] == []
        assert reads.load_rules(admin, ["accept"], "en"), "an unknown stage filter shows every rule"
        assert reads.open_record("user", admin, "12", "en")["error"]["code"] == "not_found"
    forged = {**staff_snapshot(api, f"{TOWN}-operator-1"), "role": "admin"}
    result = change(api, "admin", "save", f"{TOWN}-operator-1", edit_values(api, f"{TOWN}-operator-1", name="x"),
                    loaded=forged)
    assert result["code"] == "conflict" and count(api, AdminChange) == 0
