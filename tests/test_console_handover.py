"""Shift handover: the summary is counted from SQL over the lead's jurisdiction and shift, and
both steps (the outgoing lead's handover, the incoming lead's acknowledgement) are recorded."""
from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.console import handlers
from dashboard.console.handover import (
    acknowledge_handover,
    do_handover,
    get_shift_start,
    get_shift_summary,
    list_pending_handovers,
)
from models import ShiftHandover, Staff, lifecycle
from models.actor import Actor
from models.enums import Action, Role, State
from models.errors import Forbidden, IllegalTransition, Invalid
from tests.console_support import MINUTE, app, in_request, make_at, step, world  # noqa: F401  (fixtures)
from tests.factories import T0

SLA = Actor.system("sla-timer")
HOUR = timedelta(hours=1)
START = T0                  # the shift under test: 8 hours from T0
END = T0 + 8 * HOUR


@pytest.fixture
def incoming(session, world) -> Actor:
    """A second shift lead at town A's centre."""
    staff = Staff(name="接班值班长", role=Role.SHIFT_LEAD, area_id=world.areas["A"].id, username="lead-A-2")
    session.add(staff)
    session.commit()
    return Actor.from_staff(staff)


def make_shift(session, world) -> dict:
    """A shift's worth of work in town A (and some in town B that must not count)."""
    before = make_at(session, world, State.DISPATCHED, now=START - 30 * HOUR)   # open, overdue
    new = [make_at(session, world, State.REPORTED, now=START + n * HOUR) for n in (1, 2)]
    closed = make_at(session, world, State.CLOSED, now=START + 3 * HOUR)       # new, closed
    raised = new[0]
    step(session, world, raised, Action.ESCALATE, now=START + 4 * HOUR)
    late = make_at(session, world, State.ACCEPTED, now=START - 20 * HOUR)      # breached in shift
    lifecycle.breach(session, late, SLA, expected_version=late.version, stage=late.due_stage,
                     deadline=late.due_at, now=START + 5 * HOUR)
    session.commit()
    assert late.level == "town" and late.alarm_at is not None
    make_at(session, world, State.REPORTED, grid="B1a", now=START + HOUR)      # town B
    make_at(session, world, State.REPORTED, now=END + HOUR)                    # after the shift
    return {"before": before, "new": new, "closed": closed, "late": late}


def test_the_summary_counts_the_shift_in_the_leads_area(session, world):
    made = make_shift(session, world)
    summary = get_shift_summary(session, world.actors["lead-A"], START, END)
    assert summary == {
        "new": 3,          # new[0], new[1], closed
        "closed": 1,
        "open": 5,         # before, new[0], new[1], late, and the report after the shift (open now)
        "overdue": 4,      # past their running deadline at the end of the shift: before, late,
                           # and both new reports (nobody accepted them within the limit)
        "escalated": 2,    # new[0] by hand, late by its breach
        "alarms": 1,
        "overdue_ids": [i.id for i in sorted([made["before"], made["late"], *made["new"]],
                                             key=lambda i: (i.due_at, i.id))],
    }
    assert all(i.due_at < END for i in [made["before"], made["late"], *made["new"]])
    town_b = get_shift_summary(session, world.actors["lead-B"], START, END)
    assert (town_b["new"], town_b["open"], town_b["closed"]) == (1, 1, 0)


def test_both_steps_are_recorded_and_acknowledged_once(session, world, incoming):
    make_shift(session, world)
    outgoing = world.actors["lead-A"]
    handover = do_handover(session, outgoing, "  注意#12 业主情绪激动 ", END)
    session.commit()
    assert (handover.outgoing_id, handover.area_id, handover.shift_end, handover.created_at) == (
        outgoing.id, outgoing.area_id, END, END)
    assert handover.shift_start == END - 8 * HOUR and handover.notes == "注意#12 业主情绪激动"
    assert handover.summary["new"] == 3 and handover.incoming_id is None
    assert [h.id for h, name in list_pending_handovers(session, incoming)] == [handover.id]
    assert list_pending_handovers(session, world.actors["lead-B"]) == []
    with pytest.raises(Invalid):
        acknowledge_handover(session, outgoing, handover.id, END + MINUTE)
    with pytest.raises(Forbidden):
        acknowledge_handover(session, world.actors["lead-B"], handover.id, END + MINUTE)
    acknowledged = acknowledge_handover(session, incoming, handover.id, END + 5 * MINUTE)
    session.commit()
    assert (acknowledged.incoming_id, acknowledged.acknowledged_at) == (incoming.id, END + 5 * MINUTE)
    with pytest.raises(IllegalTransition):
        acknowledge_handover(session, incoming, handover.id, END + 6 * MINUTE)
    assert list_pending_handovers(session, incoming) == []
    session.expire_all()
    row = session.get(ShiftHandover, handover.id)
    assert (row.outgoing_id, row.incoming_id, row.summary["closed"]) == (outgoing.id, incoming.id, 1)


def test_a_shift_starts_at_the_last_takeover_or_eight_hours_back(session, world, incoming):
    outgoing = world.actors["lead-A"]
    assert get_shift_start(session, incoming, END) == END - 8 * HOUR
    handover = do_handover(session, outgoing, "", END)
    acknowledge_handover(session, incoming, handover.id, END + 10 * MINUTE)
    session.commit()
    assert get_shift_start(session, incoming, END + 6 * HOUR) == END + 10 * MINUTE
    assert get_shift_start(session, outgoing, END + 2 * HOUR) == END  # since handing over
    assert get_shift_start(session, incoming, END + 40 * HOUR) == END + 32 * HOUR  # too long ago


def test_an_operator_cannot_hand_over(session, world):
    with pytest.raises(Forbidden):
        do_handover(session, world.actors["operator-A"], "", END)


def test_the_handover_panel_records_and_acknowledges_through_the_handlers(app, session, world, incoming):
    make_shift(session, world)
    with in_request(app):
        preview = handlers.preview_handover(world.actors["lead-A"], "zh", now=END)
        saved = handlers.submit_handover(world.actors["lead-A"], "<b>交班</b>", "zh", now=END)
    values = {c.to_plotly_json()["props"]["data-key"]: c.children[0].children
              for c in preview.children[1].children}
    assert values == {"new": "3", "closed": "1", "open": "5", "overdue": "4", "escalated": "2",
                      "alarms": "1"}
    assert "msg-ok" in saved.className
    with in_request(app):
        pending = handlers.list_pending(incoming, "zh")
    cards = [c for c in pending if "handover-card" in (c.className or "")]
    assert len(cards) == 1 and cards[0].children[2].children == "<b>交班</b>"  # shown as text
    handover_id = int(cards[0].to_plotly_json()["props"]["data-handover"])
    with in_request(app):
        acked = handlers.ack_handover(incoming, handover_id, "zh", now=END + MINUTE)
        again = handlers.ack_handover(incoming, handover_id, "zh", now=END + 2 * MINUTE)
    assert "msg-ok" in acked.className and "msg-error" in again.className
    session.expire_all()
    row = session.get(ShiftHandover, handover_id)
    assert (row.incoming_id, row.acknowledged_at) == (incoming.id, END + MINUTE)
