"""The console's queue: jurisdiction, filters, deadline order and paging, straight from SQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard.console.queries import (
    QueueFilters,
    list_covered_incidents,
    list_queue,
    list_queue_departments,
)
from models import Area, Incident, Item, Staff, lifecycle
from models.actor import Actor
from models.enums import Action, AreaLevel, Channel, Role, State
from models.errors import Invalid
from tests.console_support import make_at, step, world  # noqa: F401  (fixtures)
from tests.factories import T0

LATER = T0 + timedelta(days=30)  # every deadline of these incidents has passed by then


def ids(page) -> list[int]:
    return [i.id for i in page.incidents]


def queue(session, world, who: str, now=LATER, **filters):
    return list_queue(session, world.actors[who], QueueFilters(**filters), now=now)


def test_it_lists_only_the_leads_own_area_and_beneath(session, world):
    a = make_at(session, world, State.REPORTED, grid="A1a")
    a2 = make_at(session, world, State.REPORTED, grid="A1b")
    b = make_at(session, world, State.REPORTED, grid="B1a")
    assert sorted(ids(queue(session, world, "lead-A"))) == [a.id, a2.id]
    assert ids(queue(session, world, "lead-B")) == [b.id]
    assert sorted(ids(queue(session, world, "lead-C"))) == [a.id, a2.id, b.id]
    assert sorted(ids(queue(session, world, "lead-A1"))) == [a.id, a2.id]
    admin = Actor(Role.ADMIN, "管理员", 999)
    assert len(list_queue(session, admin, QueueFilters(), now=LATER).incidents) == 3
    grid_lead = Actor(Role.SHIFT_LEAD, "网格值班", 998, world.areas["A1b"].id)
    assert ids(list_queue(session, grid_lead, QueueFilters(), now=LATER)) == [a2.id]


def test_it_never_trusts_ids_it_is_handed(session, world):
    a = make_at(session, world, State.REPORTED, grid="A1a")
    b = make_at(session, world, State.REPORTED, grid="B1a")
    covered = list_covered_incidents(session, world.actors["lead-A"], [a.id, b.id, 10**9])
    assert [i.id for i in covered] == [a.id]


def test_it_sorts_by_running_deadline_with_none_last(session, world):
    first = make_at(session, world, State.REPORTED, now=T0 + timedelta(hours=2))
    urgent = make_at(session, world, State.REPORTED, now=T0 + timedelta(hours=3), priority="urgent")
    earliest = make_at(session, world, State.REPORTED, now=T0)
    parked = make_at(session, world, State.IN_PROGRESS, now=T0 - timedelta(days=1))
    step(session, world, parked, Action.HOLD, reason="等待业主回来")
    assert parked.due_at is None
    order = ids(queue(session, world, "lead-A"))
    expected = sorted([first, urgent, earliest], key=lambda i: (i.due_at, i.id))
    assert order == [i.id for i in expected] + [parked.id]
    assert order.index(urgent.id) < order.index(first.id), "an urgent limit is shorter"


def test_it_leaves_closed_and_set_aside_out_unless_asked(session, world):
    open_one = make_at(session, world, State.ACCEPTED)
    closed = make_at(session, world, State.CLOSED)
    invalid = make_at(session, world, State.REPORTED)
    lifecycle.invalidate(session, invalid, world.actors["lead-A"], expected_version=invalid.version,
                         reason="重复拨打", now=invalid.updated_at + timedelta(minutes=1))
    session.commit()
    assert ids(queue(session, world, "lead-A")) == [open_one.id]
    assert ids(queue(session, world, "lead-A", states=(State.CLOSED,))) == [closed.id]
    both = queue(session, world, "lead-A", states=(State.CLOSED, State.INVALID))
    assert sorted(ids(both)) == sorted([closed.id, invalid.id])


def test_it_filters_by_state_category_level_department_and_overdue(session, world):
    reported = make_at(session, world, State.REPORTED, now=T0 + timedelta(days=5))
    dispatched = make_at(session, world, State.DISPATCHED)
    fire_item = session.scalar(select(Item).where(Item.code == "01-01"))
    fire = make_at(session, world, State.REPORTED, item="01-01")
    escalated = make_at(session, world, State.ACCEPTED)
    step(session, world, escalated, Action.ESCALATE)
    assert ids(queue(session, world, "lead-A", states=(State.DISPATCHED,))) == [dispatched.id]
    assert ids(queue(session, world, "lead-A", category_id=fire_item.category_id)) == [fire.id]
    assert ids(queue(session, world, "lead-A", level=AreaLevel.TOWN)) == [escalated.id]
    village = queue(session, world, "lead-A", level=AreaLevel.VILLAGE)
    assert escalated.id not in ids(village) and reported.id in ids(village)
    department = world.departments["dept-A1"].id
    assert ids(queue(session, world, "lead-A", department_id=department)) == [dispatched.id]
    # Overdue: at a moment between the others' deadlines and the late report's.
    moment = reported.due_at - timedelta(minutes=1)
    overdue = ids(queue(session, world, "lead-A", now=moment, overdue=True))
    assert reported.id not in overdue and {dispatched.id, fire.id, escalated.id} <= set(overdue)
    assert list_queue_departments(session, world.actors["lead-A"]) == {
        department: ("部门dept-A1", "dept-A1")}
    assert list_queue_departments(session, world.actors["lead-B"]) == {}


def test_it_pages_the_queue(session, world):
    made = [make_at(session, world, State.REPORTED, now=T0 + timedelta(minutes=n)) for n in range(5)]
    lead = world.actors["lead-A"]
    pages = [list_queue(session, lead, QueueFilters(), now=LATER, page=p, page_size=2) for p in range(3)]
    assert [p.page_count for p in pages] == [3, 3, 3] and pages[0].total == 5
    assert [i for p in pages for i in ids(p)] == [i.id for i in made]
    beyond = list_queue(session, lead, QueueFilters(), now=LATER, page=7, page_size=2)
    assert beyond.page == 2 and ids(beyond) == ids(pages[2])


@pytest.mark.parametrize(("field", "inputs"), [
    ("state", {"states": ["OPEN_SESAME"]}),
    ("level", {"level": "galaxy"}),
    ("category_id", {"category_id": "1; DROP TABLE incident"}),
    ("department_id", {"department_id": -3}),
    ("department_id", {"department_id": True}),
])
def test_it_refuses_unknown_filter_values_by_name(field, inputs):
    with pytest.raises(Invalid) as caught:
        QueueFilters.from_inputs(**inputs)
    assert caught.value.field == field


def test_it_reads_browser_filters(world):
    filters = QueueFilters.from_inputs(states=["REPORTED", "ACCEPTED"], category_id="3", overdue=["1"],
                                       level="town", department_id=7)
    assert filters == QueueFilters((State.REPORTED, State.ACCEPTED), 3, True, AreaLevel.TOWN, 7)
    assert QueueFilters.from_inputs() == QueueFilters()


def test_a_town_leads_queue_in_the_reference_city_holds_only_that_town(city_session):
    """南城街道's lead (441900004) and 东城街道's (441900003): each sees only their own town."""
    leads = {s.username: s for s in city_session.scalars(
        select(Staff).where(Staff.username.in_(["441900004-shiftlead-1", "441900003-shiftlead-1"])))}
    assert len(leads) == 2, "the seeded city must have both towns' shift leads"
    reporter = Actor.system("test")
    item = city_session.scalar(select(Item).where(Item.code == "14-01"))
    made = {}
    for town in ("441900004", "441900003"):
        grid = city_session.scalar(select(Area).where(Area.level == AreaLevel.GRID,
                                                      Area.code.startswith(town)).order_by(Area.code))
        assert grid is not None, f"no grid in town {town}"
        made[town] = lifecycle.report(city_session, reporter, item_id=item.id, area_id=grid.id,
                                      description="路面积水", channel=Channel.HOTLINE, now=T0)
    city_session.commit()
    for town, incident in made.items():
        lead = Actor.from_staff(leads[f"{town}-shiftlead-1"])
        listed = list_queue(city_session, lead, QueueFilters(), now=LATER).incidents
        assert [i.id for i in listed] == [incident.id]
        assert all(i.town_id == lead.area_id for i in listed)
    assert city_session.get(Incident, made["441900003"].id).town_id != leads["441900004-shiftlead-1"].area_id
