"""The console's builders: incident text stays text (XSS), messages say what happened, the
form offers what the action takes, and the keyboard map agrees with the buttons."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from dash import dcc

from dashboard.console import handlers, panels, views
from dashboard.console.actions import SHORTCUT, Outcome
from dashboard.console.drawer import get_drawer
from dashboard.console.text import SHORTCUTS
from dashboard.wall.names import Names
from models.db import make_session_factory
from models.enums import Action, State
from tests.conftest import REPO
from tests.console_support import MINUTE, app, in_request, make_at, step, world  # noqa: F401  (fixtures)
from tests.factories import T0

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)><b>粗体</b>'


@pytest.fixture
def names(engine):
    return Names(make_session_factory(engine))


def walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from walk(child)


def assert_shown_as_text(tree, text: str) -> None:
    """`text` is a plain string child of some component, and nothing in the tree would
    render HTML (no Markdown, no dangerously_allow_html)."""
    components = list(walk(tree))
    assert not [c for c in components if isinstance(c, dcc.Markdown)]
    assert not [c for c in components if getattr(c, "dangerously_allow_html", False)]
    holders = [c for c in components
               if text == getattr(c, "children", None)
               or (isinstance(getattr(c, "children", None), list) and text in c.children)]
    assert holders, f"{text!r} is not a text child anywhere"


def test_incident_text_with_html_stays_text_in_queue_drawer_and_timeline(session, world, names):
    incident = make_at(session, world, State.ACCEPTED, description=EVIL)
    step(session, world, incident, Action.ESCALATE, reason=EVIL)
    drawer = get_drawer(session, world.actors["lead-A"], incident.id, incident.updated_at)
    assert_shown_as_text(views.build_drawer_summary(drawer, names, "zh"), EVIL)
    assert_shown_as_text(views.build_timeline(drawer, names, "zh"), EVIL)
    rows = views.build_queue_rows([incident], names, {}, "town", "zh", incident.updated_at)
    assert rows[0]["summary"] == EVIL[:views.SUMMARY_CHARS]
    columns = views.build_queue_columns("zh")
    assert all(c.get("presentation") in (None, "input") for c in columns)  # never "markdown"
    assert {c["type"] for c in columns} <= {"text", "numeric"}


def test_names_with_html_stay_text_in_conflict_messages():
    conflict = Outcome(7, "accept", False, "ACCEPTED", 3, "version_conflict",
                       latest={"actor_name": EVIL, "actor_role": "shift_lead", "action": "accept",
                               "at": T0.isoformat(), "version": 3, "to_state": "ACCEPTED"})
    message = panels.build_outcome_message(conflict, "zh")
    lines = [c.children for c in message.children]
    assert any(EVIL in line for line in lines)
    assert not [c for c in walk(message) if getattr(c, "dangerously_allow_html", False)]


def test_a_conflict_message_says_who_changed_it_first_and_what_it_is_now():
    latest = {"actor_name": "张三", "actor_role": "shift_lead", "action": "reassign",
              "at": (T0 + timedelta(minutes=5)).isoformat(), "version": 4, "to_state": "DISPATCHED"}
    outcome = Outcome(42, "reassign", False, "DISPATCHED", 4, "version_conflict", latest=latest)
    zh = [c.children for c in panels.build_outcome_message(outcome, "zh").children]
    assert zh == ["其他人已先修改了事件 #42，您的操作未执行，没有覆盖任何内容。",
                  "当前状态「已派遣」，版本 4。", "最近一次：张三（值班长）11-02 09:05:00 改派",
                  "详情已刷新，请核对后再操作。"]
    en = " ".join(c.children for c in panels.build_outcome_message(outcome, "en").children)
    assert "Someone else changed incident #42 first" in en and "It is now Dispatched, version 4." in en
    message = panels.build_outcome_message(outcome, "zh")
    assert "msg-conflict" in message.className and message.role == "alert"


@pytest.mark.parametrize(("outcome", "text"), [
    (Outcome(5, "hold", False, error="invalid", field="new_deadline", detail="the new deadline must be "
             "a future, timezone-aware time"), "请检查「新期限」：the new deadline must be a future"),
    (Outcome(5, "close", False, "REPORTED", 1, "illegal_transition", detail="x"), "#5 当前为「上报」，不能核查结案。"),
    (Outcome(5, "accept", False, error="forbidden", detail="incident 5 is outside 李四's jurisdiction"),
     "无权操作：incident 5 is outside"),
    (Outcome(5, "accept", True, "ACCEPTED", 2), "#5 受理：成功，现为「已受理」（版本 2）"),
])
def test_each_refusal_is_a_clear_message_naming_the_field(outcome, text):
    shown = " ".join(c.children for c in panels.build_outcome_message(outcome, "zh").children)
    assert text in shown


def test_the_form_offers_the_fields_of_the_action_and_preselects_the_suggestion():
    selected = {"id": 9, "version": 3, "is_dispute": False, "department_id": 11,
                "candidates": [[11, "村综治", "Village"], [12, "镇城管", "Town"]],
                "actions": ["dispatch", "reassign", "hold", "close", "accept"], "due_at": "2026-11-03 18:00"}
    dispatch = handlers.build_form_state({"action": "dispatch", "id": 9}, selected, "zh")
    assert dispatch["open"] and dispatch["department"] == 11
    assert dispatch["options"][0] == {"label": "村综治（建议）", "value": 11}
    assert dispatch["rows"] == {"department_id": True, "deadline": True, "dispute_outcome": False,
                                "reason": False}
    reassign = handlers.build_form_state({"action": "reassign", "id": 9}, selected, "zh")
    assert reassign["options"] == [{"label": "镇城管", "value": 12}] and reassign["department"] == 12
    hold = handlers.build_form_state({"action": "hold", "id": 9}, selected, "en")
    assert hold["rows"]["deadline"] and hold["rows"]["reason"] and hold["deadline"] == "2026-11-03 18:00"
    assert not handlers.build_form_state({"action": "close", "id": 9}, selected, "zh")["rows"]["dispute_outcome"]
    dispute = handlers.build_form_state({"action": "close", "id": 9}, {**selected, "is_dispute": True}, "zh")
    assert dispute["rows"]["dispute_outcome"]
    for pending in ({"action": "dispatch", "id": 8}, {"action": "reopen", "id": 9},
                    {"action": "accept", "id": 9}, None):
        assert not handlers.build_form_state(pending, selected, "zh")["open"]


def test_the_queue_rows_count_down_and_flag_alarms_and_late_rows(session, world, names):
    incident = make_at(session, world, State.REPORTED)
    soon = incident.due_at - timedelta(hours=1, minutes=5)
    row = views.build_queue_rows([incident], names, {}, "town", "zh", soon)[0]
    assert (row["left"], row["overdue"], row["alarm"]) == ("剩 1时05分", 0, "")
    assert row["area"] == "区域A1 · 区域A1a" and row["state"] == "上报" and row["level"] == "村（社区）"
    late = views.build_queue_rows([incident], names, {}, "city", "en", incident.due_at + timedelta(days=2))[0]
    assert (late["left"], late["overdue"], late["area"]) == ("2d 0h over", 1, "区域A · 区域A1")
    incident.alarm_at = incident.due_at
    assert views.build_queue_rows([incident], names, {}, "town", "zh", soon)[0]["alarm"] == "⚠ 待确认"


def test_the_keyboard_map_agrees_with_the_buttons_and_the_help():
    script = (REPO / "dashboard/assets/console.js").read_text()
    keys = re.search(r"var KEYS = (\{[^}]*\});", script).group(1)
    mapped = json.loads(re.sub(r"(\w+):", r'"\1":', keys))
    assert set(mapped) == set(SHORTCUT.values()) and len(set(SHORTCUT.values())) == len(SHORTCUT)
    helped = {key for key, _zh, _en in SHORTCUTS}
    assert set(SHORTCUT.values()) <= helped and {"j / k", "x", "Esc", "?"} <= helped
    buttons = views.build_action_buttons(list(SHORTCUT), SHORTCUT, "zh")
    assert [b.to_plotly_json()["props"]["data-shortcut"] for b in buttons] == list(SHORTCUT.values())
    for ident in ("console-actions", "console-form", "console-f-submit", "console-f-cancel",
                  "console-drawer-close", "console-cursor", "console-live", "console-queue"):
        assert ident in script or ident.replace("console-", "") in script, ident


def test_the_drawer_callback_data_for_a_lead_and_for_a_stranger(app, session, world):
    incident = make_at(session, world, State.ACCEPTED, description=EVIL)
    with in_request(app):
        shown = handlers.open_drawer(world.actors["lead-A"], incident.id, "zh",
                                     now=incident.updated_at + MINUTE)
        refused = handlers.open_drawer(world.actors["lead-B"], incident.id, "zh")
        queue = handlers.load_queue(world.actors["operator-A"], {}, 0, "zh")
    assert shown["selected"]["id"] == incident.id and shown["selected"]["version"] == incident.version
    assert shown["selected"]["actions"] == ["dispatch", "escalate"]
    assert shown["selected"]["candidates"][0][0] == world.departments["dept-A1"].id
    assert {t.type for t in shown["figure"].data} <= {"choropleth", "scattergeo"}
    assert "msg-error" in refused["error"].className and EVIL not in json.dumps(
        refused["error"].to_plotly_json(), default=str)
    assert "msg-error" in queue["error"].className
