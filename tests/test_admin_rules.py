"""Time-limit rules on /admin: create, edit, delete; a fallback for every stage and priority
always stays; validation by field; only a city admin changes them; the audit row; two
admins at once; and a change applies to the next deadline set, in this process and in
another, while deadlines already set stay as they were."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dashboard.admin import handlers, reads
from dashboard.admin.audit import take_snapshot
from dashboard.app import dispose
from models.catalogue import Category, Item, SlaRule
from models.db import make_session_factory
from models.enums import Priority, Stage
from models.incident import Incident
from models.org import AdminChange
from models.sla import get_policy
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
from tests.api_support import auth, make_api, make_report, token  # noqa: F401  (fixtures)


def find_rule(api, stage: str, priority: str | None, *, category: int | None = None,  # noqa: F811
              item: str | None = None) -> dict:
    with sessions(api)() as session:
        category_id = category and session.scalar(select(Category.id).where(Category.code == category))
        item_id = item and session.scalar(select(Item.id).where(Item.code == item))
        rule = session.scalar(select(SlaRule).where(
            SlaRule.stage == stage, SlaRule.priority.is_not_distinct_from(priority),
            SlaRule.category_id.is_not_distinct_from(category_id), SlaRule.item_id.is_not_distinct_from(item_id)))
        assert rule is not None, f"the seeded rules have no {stage}/{priority}/{category}/{item} rule"
        return take_snapshot(rule)


def form(loaded: dict, **values) -> dict:
    return {k: loaded[k] for k in ("stage", "priority", "category_id", "item_id", "minutes", "clock")} | values


def save(api, who: str, loaded: dict, **values) -> dict:  # noqa: F811
    with in_request(api):
        return handlers.change_rule(actor(api, who), loaded["id"], loaded, form(loaded, **values), "en")


def create(api, who: str, **values) -> dict:  # noqa: F811
    base = {"stage": "handle", "priority": None, "category_id": None, "item_id": None, "minutes": 600,
            "clock": "calendar"}
    with in_request(api):
        return handlers.create_rule(actor(api, who), base | values, "en")


def delete(api, who: str, loaded: dict) -> dict:  # noqa: F811
    with in_request(api):
        return handlers.delete_rule(actor(api, who), loaded["id"], loaded, "en")


def report(client, auth) -> dict:  # noqa: F811
    answer = client.post("/api/v1/incidents", headers=auth, json=make_report(item_code="14-01"))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def accept_deadline(engine, incident_id: int) -> tuple:
    with make_session_factory(engine)() as session:
        incident = session.get(Incident, incident_id)
        return incident.accept_due, incident.accept_due - incident.reported_at


# ---------------------------------------------------------------- create, edit, delete

def test_it_edits_a_rule_with_an_audit_row(api):  # noqa: F811
    loaded = find_rule(api, "accept", "normal")
    result = save(api, "admin", loaded, minutes=90, clock="working")
    assert result["code"] == "saved", result
    after = find_rule(api, "accept", "normal")
    assert (after["minutes"], after["clock"]) == (90, "working")
    [row] = list_audit(api)
    assert (row.entity, row.entity_id, row.change, row.before, row.after) == (
        "sla_rule", loaded["id"], "update", loaded, after)


def test_it_creates_and_deletes_a_rule_with_an_audit_row_each(api):  # noqa: F811
    result = create(api, "admin", category_id=find_rule(api, "handle", None, category=9)["category_id"],
                    priority="urgent", minutes=240)
    assert result["code"] == "created", result
    created = find_rule(api, "handle", "urgent", category=9)
    assert created["minutes"] == 240 and result["loaded"] == created
    assert delete(api, "admin", created)["code"] == "deleted"
    assert [(r.change, r.entity_id) for r in list_audit(api)] == [("create", created["id"]),
                                                                   ("delete", created["id"])]
    assert list_audit(api)[1].before == created and list_audit(api)[1].after is None


def test_the_last_fallback_of_a_stage_and_priority_cannot_go(api):  # noqa: F811
    before = dump_table(api, SlaRule)
    fallback = find_rule(api, "check", "low")
    refused = delete(api, "admin", fallback)
    assert refused["reasons"] == {"id": "no_fallback"} and "check" in refused["errors"]["id"]
    rescoped = save(api, "admin", fallback, category_id=find_rule(api, "check", None, category=13)["category_id"])
    assert rescoped["reasons"] == {"category_id": "no_fallback"}
    restaged = save(api, "admin", fallback, stage="handle", priority=None)
    assert restaged["code"] == "invalid" and restaged["reasons"] == {"stage": "no_fallback"}
    assert dump_table(api, SlaRule) == before and count(api, AdminChange) == 0
    assert create(api, "admin", stage="check", minutes=600)["code"] == "created"  # any priority
    assert delete(api, "admin", fallback)["code"] == "deleted", "the any-priority rule is the fallback now"
    with sessions(api)() as session:
        assert get_policy(session).resolve(Stage.CHECK, Priority.LOW, 1, 1).minutes == 600


def test_a_rule_is_checked_by_field_and_nothing_is_written(api):  # noqa: F811
    before = dump_table(api, SlaRule)
    both = create(api, "admin", category_id=find_rule(api, "handle", None, category=9)["category_id"],
                  item_id=find_rule(api, "handle", None, item="01-01")["item_id"])
    assert both["reasons"] == {"item_id": "one_scope"}
    assert create(api, "admin", minutes=0)["reasons"] == {"minutes": "greater_than"}
    assert create(api, "admin", minutes="ten")["reasons"] == {"minutes": "whole_number"}
    assert create(api, "admin", stage="triage", clock="lunar")["reasons"] == {"stage": "one_of", "clock": "one_of"}
    assert create(api, "admin", item_id=999999)["reasons"] == {"item_id": "no_item"}
    duplicate = create(api, "admin", stage="accept", priority="normal")
    assert duplicate["reasons"] == {"stage": "duplicate_rule"}
    assert str(find_rule(api, "accept", "normal")["id"]) in duplicate["errors"]["stage"]
    assert dump_table(api, SlaRule) == before and count(api, AdminChange) == 0


def test_only_a_city_admin_changes_rules(api, town_admin):  # noqa: F811
    before, loaded = dump_table(api, SlaRule), find_rule(api, "accept", "normal")
    assert save(api, town_admin, loaded, minutes=5)["code"] == "forbidden"
    assert create(api, town_admin, stage="handle", priority="urgent", minutes=5, category_id=1)["code"] == "forbidden"
    assert delete(api, town_admin, find_rule(api, "handle", None, item="01-01"))["code"] == "forbidden"
    assert save(api, "441900004-leader-1", loaded, minutes=5)["code"] == "forbidden"
    assert dump_table(api, SlaRule) == before and count(api, AdminChange) == 0
    with in_request(api):
        assert len(reads.load_rules(actor(api, town_admin), None, "en")) == len(before), "they still read them"


def test_the_second_of_two_admins_editing_one_rule_gets_a_conflict(api):  # noqa: F811
    loaded = find_rule(api, "accept", "normal")
    assert save(api, "admin", loaded, minutes=100)["code"] == "saved"
    second = save(api, "admin", loaded, minutes=50)
    assert second["code"] == "conflict" and second["current"]["minutes"] == 100
    gone = delete(api, "admin", loaded)
    assert gone["code"] == "conflict"
    assert find_rule(api, "accept", "normal")["minutes"] == 100 and len(list_audit(api)) == 1


# ---------------------------------------------------------------- new deadlines, old deadlines

def test_a_rule_change_applies_to_the_next_report_and_leaves_set_deadlines(api, auth, city_engine, redis_server):  # noqa: F811
    """Two app instances stand for two processes, each holding the rules in its per-process
    cache before the change (a cache that, but for the rules' version, would keep them for
    API_RULES_CACHE_SECONDS: 60 s here)."""
    other = make_api(city_engine, redis_server.url)
    try:
        here, there = api.server.test_client(), other.server.test_client()
        old_here, old_there = report(here, auth), report(there, auth)
        due_before, limit_before = accept_deadline(city_engine, old_here["id"])
        assert limit_before == timedelta(minutes=120), "14-01 is normal: the seeded 2-hour accept limit"

        assert save(api, "admin", find_rule(api, "accept", "normal"), minutes=45)["code"] == "saved"

        assert accept_deadline(city_engine, report(here, auth)["id"])[1] == timedelta(minutes=45)
        assert accept_deadline(city_engine, report(there, auth)["id"])[1] == timedelta(minutes=45), \
            "another process sees the change at its next deadline, with no restart"
        assert accept_deadline(city_engine, old_here["id"]) == (due_before, limit_before), \
            "a deadline already set does not move"
        assert accept_deadline(city_engine, old_there["id"])[1] == timedelta(minutes=120)
        with make_session_factory(city_engine)() as session:  # a worker's job opens its own session
            assert get_policy(session).resolve(Stage.ACCEPT, Priority.NORMAL, 1, 1).minutes == 45
    finally:
        dispose(other)
