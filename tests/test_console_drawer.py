"""The incident drawer's data: per-stage time-limit status derived from events, breaches and
the stored deadlines; the audit timeline; the location; the dispatch suggestion."""
from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.console import views
from dashboard.console.drawer import StageStatus, get_drawer, list_stage_status
from dashboard.wall.names import Names
from models import lifecycle
from models.actor import Actor
from models.db import make_session_factory
from models.enums import Action, Stage, State
from models.errors import Forbidden, NotFound
from models.routing import list_candidate_departments
from tests.console_support import MINUTE, make_at, step, world  # noqa: F401  (fixtures)
from tests.factories import T0

SLA = Actor.system("sla-timer")


@pytest.fixture
def names(engine):
    return Names(make_session_factory(engine))


def stages(session, world, incident, now):
    drawer = get_drawer(session, world.actors["lead-A"], incident.id, now)
    return {row.stage: row for row in drawer.stages}


def breach(session, incident, late=MINUTE):
    now = incident.due_at + late
    assert lifecycle.breach(session, incident, SLA, expected_version=incident.version,
                            stage=incident.due_stage, deadline=incident.due_at, now=now) is not None
    session.commit()
    return now


def test_a_new_report_runs_its_accept_clock_and_nothing_else(session, world):
    incident = make_at(session, world, State.REPORTED)
    rows = stages(session, world, incident, T0 + MINUTE)
    assert rows[Stage.ACCEPT].status == StageStatus.RUNNING
    assert rows[Stage.ACCEPT].deadline == incident.accept_due and rows[Stage.ACCEPT].started_at == T0
    assert {rows[s].status for s in (Stage.DISPATCH, Stage.HANDLE, Stage.CHECK)} == {StageStatus.NOT_STARTED}
    assert stages(session, world, incident, incident.warn_at)[Stage.ACCEPT].status == StageStatus.AMBER
    late = stages(session, world, incident, incident.accept_due + timedelta(minutes=5))[Stage.ACCEPT]
    assert (late.status, late.over_seconds) == (StageStatus.BREACHED, 300)


def test_a_loop_closed_in_time_is_on_time_at_every_stage(session, world):
    incident = make_at(session, world, State.CLOSED)
    rows = stages(session, world, incident, incident.updated_at + timedelta(days=9))
    assert [rows[s].status for s in Stage] == [StageStatus.ON_TIME] * 4
    assert [rows[s].completed_at for s in Stage] == [T0 + MINUTE * n for n in (1, 2, 5, 6)]
    assert rows[Stage.HANDLE].deadline == incident.handle_due


def test_a_breached_stage_stays_breached_once_completed_with_its_overrun(session, world):
    incident = make_at(session, world, State.ACCEPTED)
    detected = breach(session, incident, late=timedelta(minutes=10))
    running = stages(session, world, incident, detected)[Stage.DISPATCH]
    assert running.status == StageStatus.BREACHED and running.completed_at is None
    done_at = detected + timedelta(minutes=20)
    step(session, world, incident, Action.DISPATCH, now=done_at)
    rows = stages(session, world, incident, done_at + MINUTE)
    assert rows[Stage.DISPATCH].status == StageStatus.BREACHED
    assert rows[Stage.DISPATCH].over_seconds == 30 * 60  # recorded when the stage completed
    assert rows[Stage.HANDLE].status == StageStatus.RUNNING
    assert rows[Stage.ACCEPT].status == StageStatus.ON_TIME


def test_a_stage_finished_late_before_the_timer_noticed_counts_as_breached(session, world):
    incident = make_at(session, world, State.REPORTED)
    step(session, world, incident, Action.ACCEPT, now=incident.accept_due + timedelta(minutes=2))
    row = stages(session, world, incident, incident.updated_at)[Stage.ACCEPT]
    assert (row.status, row.over_seconds) == (StageStatus.BREACHED, 120)


def test_returns_and_rework_start_new_rounds(session, world):
    incident = make_at(session, world, State.DISPATCHED)
    step(session, world, incident, Action.RETURN)
    step(session, world, incident, Action.DISPATCH)
    for action in (Action.ACKNOWLEDGE, Action.START, Action.RESOLVE, Action.REWORK):
        step(session, world, incident, action)
    rows = stages(session, world, incident, incident.updated_at)
    assert rows[Stage.DISPATCH].rounds == 2 and rows[Stage.DISPATCH].status == StageStatus.ON_TIME
    # handle ran from the first dispatch to the return, from the second to resolve, and again
    assert rows[Stage.HANDLE].rounds == 3 and rows[Stage.HANDLE].status == StageStatus.RUNNING
    assert rows[Stage.CHECK].rounds == 1 and rows[Stage.CHECK].completed_at == incident.updated_at


def test_a_parked_incident_pauses_and_a_postponed_one_runs_to_its_new_deadline(session, world):
    parked = make_at(session, world, State.IN_PROGRESS)
    step(session, world, parked, Action.HOLD, reason="等待业主")
    assert stages(session, world, parked, parked.updated_at)[Stage.HANDLE].status == StageStatus.PAUSED
    postponed = make_at(session, world, State.IN_PROGRESS)
    new_deadline = postponed.updated_at + timedelta(days=3)
    step(session, world, postponed, Action.HOLD, reason="需采购配件", new_deadline=new_deadline)
    row = stages(session, world, postponed, postponed.updated_at)[Stage.HANDLE]
    assert (row.status, row.deadline) == (StageStatus.RUNNING, new_deadline)


def test_the_stage_status_is_a_pure_function_of_what_is_stored(session, world):
    incident = make_at(session, world, State.DISPATCHED)
    drawer = get_drawer(session, world.actors["lead-A"], incident.id, incident.updated_at)
    again = list_stage_status(incident, drawer.events, list(incident.breaches), incident.updated_at)
    assert again == drawer.stages


def test_the_timeline_lists_every_event_newest_first_in_beijing_time(session, world, names):
    incident = make_at(session, world, State.DISPATCHED)
    step(session, world, incident, Action.REASSIGN, department_id=world.departments["dept-A"].id,
         reason="村级力量不足")
    step(session, world, incident, Action.ESCALATE, reason="群众反复投诉")
    drawer = get_drawer(session, world.actors["lead-A"], incident.id, incident.updated_at)
    assert [e.action for e in drawer.events] == ["report", "accept", "dispatch", "reassign", "escalate"]
    timeline = views.build_timeline(drawer, names, "zh")
    entries = timeline.children
    assert [e.className.split()[1] for e in entries] == [
        "tl-escalate", "tl-reassign", "tl-dispatch", "tl-accept", "tl-report"]
    text = [flatten(e) for e in entries]
    assert "2026-11-02 09:04:00" in text[0] and "升级督办" in text[0] and "群众反复投诉" in text[0]
    assert "层级: 村（社区） → 镇街" in text[0]
    assert "人员lead-A（值班长）" in text[1] and "部门: 部门dept-A1 → 部门dept-A" in text[1]
    assert "已受理 → 已派遣" in text[2] and "部门: 部门dept-A1" in text[2]
    assert "2026-11-02 09:00:00" in text[4] and "上报" in text[4]
    english = flatten(views.build_timeline(drawer, names, "en"))
    assert "Accepted → Dispatched" in english and "department: dept-A1 → dept-A" in english


def test_the_drawer_shows_the_grid_and_the_point_and_suggests_the_nearest_department(session, world):
    incident = make_at(session, world, State.ACCEPTED, lon=0.5, lat=0.5)
    drawer = get_drawer(session, world.actors["lead-A"], incident.id, incident.updated_at)
    grid = world.areas["A1a"]
    assert (drawer.location.area_code, drawer.location.geometry) == (grid.code, grid.geometry_simplified)
    assert (drawer.location.lon, drawer.location.lat) == (0.5, 0.5)
    figure = views.build_location_figure(drawer.location, "zh")
    assert [trace.type for trace in figure.data] == ["choropleth", "scattergeo"]
    assert drawer.suggestion == list_candidate_departments(session, incident)[0]
    assert drawer.suggestion == world.departments["dept-A1"].id  # the village's own comes first
    assert [c[0] for c in drawer.candidates] == list_candidate_departments(session, incident)


def test_the_drawer_is_refused_outside_the_jurisdiction(session, world):
    incident = make_at(session, world, State.REPORTED)
    with pytest.raises(Forbidden):
        get_drawer(session, world.actors["lead-B"], incident.id, incident.updated_at)
    with pytest.raises(NotFound):
        get_drawer(session, world.actors["lead-A"], 10**9, incident.updated_at)


def flatten(component) -> str:
    """Every string in a component tree, joined (what a reader would see)."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(flatten(c) for c in component)
    return flatten(getattr(component, "children", None))
