"""The closed loop: every legal and illegal transition, versions, permissions, atomicity."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import Incident, IncidentEvent
from models import lifecycle
from models.enums import Action, AreaLevel, State
from models.errors import Forbidden, IllegalTransition, Invalid, VersionConflict
from models.lifecycle import TRANSITIONS
from tests.factories import T0, make_incident, make_world

LEAD = "lead-A"


def _params(world, action: Action, incident: Incident) -> dict:
    """Arguments that make `action` valid for an incident of item 14-01 in grid A1a."""
    return {
        Action.ACCEPT: {},
        Action.INVALIDATE: {"reason": "重复上报的测试数据"},
        Action.DUPLICATE: {"reason": "同一事件", "duplicate_of_id": _other_incident(world, incident)},
        Action.NOT_OURS: {"reason": "不属于网格事项"},
        Action.SELF_HANDLE: {"reason": "网格员现场劝导已清理"},
        Action.DISPATCH: {"department_id": world.departments["dept-A"].id},
        Action.REASSIGN: {"department_id": world.departments["dept-A1"].id},
        Action.RETURN: {"reason": "非本部门职责"},
        Action.ACKNOWLEDGE: {},
        Action.START: {},
        Action.HOLD: {"reason": "等待物业配合"},
        Action.RESUME: {},
        Action.RESOLVE: {},
        Action.REWORK: {"reason": "现场核查未清理干净"},
        Action.CLOSE: {"satisfaction": "satisfied"},
        Action.RATE: {"satisfaction": "neutral"},
        Action.REOPEN: {"reason": "群众反映问题复发"},
        Action.ESCALATE: {"reason": "需要镇街协调"},
        Action.ACK_ALARM: {},
    }[action]


_OTHER: dict[int, int] = {}


def _other_incident(world, incident) -> int:
    return _OTHER[id(world)]


# The shortest path of actions from REPORTED to each state.
PATHS: dict[State, list[Action]] = {
    State.REPORTED: [],
    State.ACCEPTED: [Action.ACCEPT],
    State.DISPATCHED: [Action.ACCEPT, Action.DISPATCH],
    State.ACKNOWLEDGED: [Action.ACCEPT, Action.DISPATCH, Action.ACKNOWLEDGE],
    State.IN_PROGRESS: [Action.ACCEPT, Action.DISPATCH, Action.ACKNOWLEDGE, Action.START],
    State.ON_HOLD: [Action.ACCEPT, Action.DISPATCH, Action.ACKNOWLEDGE, Action.START, Action.HOLD],
    State.RESOLVED: [Action.ACCEPT, Action.DISPATCH, Action.ACKNOWLEDGE, Action.START, Action.RESOLVE],
    State.CLOSED: [Action.ACCEPT, Action.DISPATCH, Action.ACKNOWLEDGE, Action.START, Action.RESOLVE,
                   Action.CLOSE],
    State.RETURNED: [Action.ACCEPT, Action.DISPATCH, Action.RETURN],
    State.REOPENED: [Action.ACCEPT, Action.DISPATCH, Action.ACKNOWLEDGE, Action.START, Action.RESOLVE,
                     Action.CLOSE, Action.REOPEN],
    State.SELF_HANDLED: [Action.SELF_HANDLE],
    State.INVALID: [Action.INVALIDATE],
    State.DUPLICATE: [Action.DUPLICATE],
    State.NOT_OURS: [Action.NOT_OURS],
}


@pytest.fixture
def world(session):
    w = make_world(session)
    _OTHER[id(w)] = make_incident(session, w).id
    session.commit()
    return w


def _act(session, world, incident, action, actor=None, **extra):
    actor = actor or ("worker-A1a" if action == Action.SELF_HANDLE else LEAD)
    params = {**_params(world, action, incident), **extra}
    return lifecycle.HANDLERS[action](session, incident, world.actors[actor],
                                      expected_version=incident.version, now=T0, **params)


def make_in_state(session, world, state: State) -> Incident:
    incident = make_incident(session, world)
    for action in PATHS[state]:
        _act(session, world, incident, action)
    session.commit()
    assert incident.state == state
    return incident


def _snapshot(session, incident_id):
    session.expire_all()
    row = session.get(Incident, incident_id)
    columns = {c.key: getattr(row, c.key) for c in Incident.__table__.columns}
    events = session.scalar(select(func.count()).select_from(IncidentEvent))
    return columns, events


# ack-alarm is legal only with an alarm standing: tests/test_alarm.py covers it.
LEGAL = [(a, s) for a, (sources, _) in TRANSITIONS.items()
         if a not in (Action.BREACH, Action.ACK_ALARM) for s in sorted(sources)]
ILLEGAL = [(a, s) for a, (sources, _) in TRANSITIONS.items() if a != Action.BREACH
           for s in sorted(set(State) - sources)]


@pytest.mark.parametrize(("action", "state"), LEGAL, ids=lambda v: str(v))
def test_it_applies_every_legal_transition(session, world, action, state):
    incident = make_in_state(session, world, state)
    before = incident.version
    expected = TRANSITIONS[action][1] or state
    event = _act(session, world, incident, action)
    session.commit()
    session.expire_all()
    stored = session.get(Incident, incident.id)
    assert stored.state == expected
    assert stored.version == before + 1
    assert (event.action, event.from_state, event.to_state) == (action.value, state, expected)
    assert event.version == stored.version and event.actor_id is not None


@pytest.mark.parametrize(("action", "state"), ILLEGAL, ids=lambda v: str(v))
def test_it_refuses_every_illegal_transition_and_writes_nothing(session, world, action, state):
    incident = make_in_state(session, world, state)
    before = _snapshot(session, incident.id)
    with pytest.raises(IllegalTransition) as caught:
        _act(session, world, incident, action)
    assert caught.value.state == state and caught.value.version == incident.version
    session.commit()
    assert _snapshot(session, incident.id) == before


def test_it_refuses_a_stale_version_and_writes_nothing(session, world):
    incident = make_in_state(session, world, State.REPORTED)
    before = _snapshot(session, incident.id)
    with pytest.raises(VersionConflict) as caught:
        lifecycle.accept(session, incident, world.actors[LEAD], expected_version=incident.version - 1)
    assert (caught.value.state, caught.value.version) == (State.REPORTED, incident.version)
    session.commit()
    assert _snapshot(session, incident.id) == before


def test_it_lets_exactly_one_of_two_concurrent_writers_win(engine, session, world):
    from models.db import make_session_factory

    incident_id = make_in_state(session, world, State.DISPATCHED).id
    factory = make_session_factory(engine)
    first, second = factory(), factory()
    mine, theirs = first.get(Incident, incident_id), second.get(Incident, incident_id)
    version = mine.version
    target = world.departments["dept-A1"].id
    lifecycle.reassign(first, mine, world.actors[LEAD], expected_version=version, department_id=target)
    first.commit()
    with pytest.raises(VersionConflict):
        lifecycle.reassign(second, theirs, world.actors["lead-C"], expected_version=version,
                           department_id=world.departments["dept-C"].id)
    second.rollback()
    session.expire_all()
    stored = session.get(Incident, incident_id)
    assert (stored.department_id, stored.version, stored.reassign_count) == (target, version + 1, 1)
    first.close()
    second.close()


def test_it_writes_the_event_in_the_same_transaction(session, world):
    incident = make_in_state(session, world, State.REPORTED)
    before = _snapshot(session, incident.id)
    _act(session, world, incident, Action.ACCEPT)
    session.rollback()
    assert _snapshot(session, incident.id) == before
    _act(session, world, session.get(Incident, incident.id), Action.ACCEPT)
    session.commit()
    columns, events = _snapshot(session, incident.id)
    assert (columns["state"], events) == (State.ACCEPTED, before[1] + 1)


@pytest.mark.parametrize(("actor", "action", "state"), [
    ("operator-A", Action.ACCEPT, State.REPORTED),        # role may not act
    ("lead-B", Action.ACCEPT, State.REPORTED),            # other town
    ("lead-A1", Action.DISPATCH, State.ACCEPTED),         # village lead is fine...
    ("handler-B", Action.ACKNOWLEDGE, State.DISPATCHED),  # ...another department is not
    ("worker-B1a", Action.CLOSE, State.RESOLVED),         # another grid's worker
    ("worker-A1a", Action.ACCEPT, State.REPORTED),        # grid worker cannot accept
])
def test_it_checks_role_and_jurisdiction(session, world, actor, action, state):
    incident = make_in_state(session, world, state)
    before = _snapshot(session, incident.id)
    if actor == "lead-A1":
        _act(session, world, incident, action, actor=actor)
        assert incident.state == State.DISPATCHED
        return
    with pytest.raises(Forbidden):
        _act(session, world, incident, action, actor=actor)
    session.commit()
    assert _snapshot(session, incident.id) == before


@pytest.mark.parametrize(("state", "action", "params", "field"), [
    (State.REPORTED, Action.INVALIDATE, {"reason": "  "}, "reason"),
    (State.REPORTED, Action.DUPLICATE, {"duplicate_of_id": 999999}, "duplicate_of_id"),
    (State.ACCEPTED, Action.DISPATCH, {"department_id": "fire-A"}, "department_id"),
    (State.ACCEPTED, Action.DISPATCH, {"department_id": "dept-B"}, "department_id"),
    (State.ACCEPTED, Action.DISPATCH, {"department_id": 424242}, "department_id"),
    (State.IN_PROGRESS, Action.HOLD, {"new_deadline": T0 - timedelta(hours=1)}, "new_deadline"),
    (State.REPORTED, Action.ACCEPT, {"priority": "whenever"}, "priority"),
    (State.RESOLVED, Action.CLOSE, {"satisfaction": "ecstatic"}, "satisfaction"),
])
def test_it_rejects_invalid_arguments_and_writes_nothing(session, world, state, action, params, field):
    incident = make_in_state(session, world, state)
    if isinstance(params.get("department_id"), str):
        params["department_id"] = world.departments[params["department_id"]].id
    before = _snapshot(session, incident.id)
    with pytest.raises(Invalid) as caught:
        _act(session, world, incident, action, **params)
    assert caught.value.field == field
    session.commit()
    assert _snapshot(session, incident.id) == before


def test_it_requires_a_mediation_outcome_to_close_a_dispute(session, world):
    incident = make_incident(session, world, item="09-01")
    for action in PATHS[State.RESOLVED]:
        _act(session, world, incident, action)
    with pytest.raises(Invalid) as caught:
        lifecycle.close(session, incident, world.actors[LEAD], expected_version=incident.version)
    assert caught.value.field == "dispute_outcome"
    lifecycle.close(session, incident, world.actors[LEAD], expected_version=incident.version,
                    dispute_outcome="mediated")
    assert incident.dispute_outcome == "mediated"


def test_it_records_a_breach_and_escalates_exactly_once(session, world):
    incident = make_in_state(session, world, State.DISPATCHED)
    due, system = incident.due_at, lifecycle.Actor.system("sla")
    late = due + timedelta(minutes=5)
    early = lifecycle.breach(session, incident, system, expected_version=incident.version,
                             stage="handle", deadline=due, now=due - timedelta(seconds=1))
    assert early is None
    event = lifecycle.breach(session, incident, system, expected_version=incident.version,
                             stage="handle", deadline=due, now=late)
    again = lifecycle.breach(session, incident, system, expected_version=incident.version,
                             stage="handle", deadline=due, now=late)
    session.commit()
    assert again is None
    assert event.payload["overdue_seconds"] == 300
    assert (incident.level, incident.breach_count, incident.escalation_count) == (AreaLevel.TOWN, 1, 1)
    lifecycle.acknowledge(session, incident, world.actors[LEAD], expected_version=incident.version)
    lifecycle.start(session, incident, world.actors[LEAD], expected_version=incident.version)
    lifecycle.resolve(session, incident, world.actors[LEAD], expected_version=incident.version,
                      now=late + timedelta(minutes=5))
    session.commit()
    [record] = session.query(lifecycle.Breach).filter_by(incident_id=incident.id).all()
    assert record.overdue_seconds == 600


def test_it_escalates_one_level_at_a_time_up_to_the_city(session, world):
    incident = make_in_state(session, world, State.ACCEPTED)
    _act(session, world, incident, Action.ESCALATE)
    _act(session, world, incident, Action.ESCALATE)
    assert incident.level == AreaLevel.CITY
    with pytest.raises(IllegalTransition):
        _act(session, world, incident, Action.ESCALATE)
    assert incident.escalation_count == 2


def test_it_keeps_the_original_deadline_on_rework_and_moves_it_when_postponed(session, world):
    incident = make_in_state(session, world, State.RESOLVED)
    original = incident.handle_due
    _act(session, world, incident, Action.REWORK)
    assert (incident.state, incident.due_at, incident.rework_count) == (State.IN_PROGRESS, original, 1)
    later = original + timedelta(days=3)
    _act(session, world, incident, Action.HOLD, new_deadline=later)
    assert (incident.handle_due, incident.due_at, incident.postpone_count) == (later, later, 1)


def test_it_refuses_postponement_by_a_department_handler(session, world):
    incident = make_in_state(session, world, State.IN_PROGRESS)
    with pytest.raises(Forbidden):
        _act(session, world, incident, Action.HOLD, actor="handler-A",
             new_deadline=T0 + timedelta(days=2))


def test_it_stops_the_clock_while_parked(session, world):
    incident = make_in_state(session, world, State.IN_PROGRESS)
    due = incident.handle_due
    lifecycle.hold(session, incident, world.actors[LEAD], expected_version=incident.version,
                   reason="等待鉴定", now=T0)
    assert incident.due_at is None
    lifecycle.resume(session, incident, world.actors[LEAD], expected_version=incident.version,
                     now=T0 + timedelta(hours=5))
    assert incident.due_at == due + timedelta(hours=5)


def test_it_refuses_to_rewrite_an_event(session, world):
    incident = make_in_state(session, world, State.ACCEPTED)
    event = session.query(IncidentEvent).filter_by(incident_id=incident.id).first()
    event.reason = "changed"
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()


def test_it_applies_an_action_by_name_and_reports_unknown_ids_and_actions(session, world):
    from models.errors import NotFound

    incident = make_in_state(session, world, State.REPORTED)
    event = lifecycle.apply(session, incident.id, "accept", world.actors[LEAD],
                            expected_version=incident.version)
    assert event.to_state == State.ACCEPTED
    with pytest.raises(NotFound) as missing:
        lifecycle.apply(session, 987654, "accept", world.actors[LEAD], expected_version=1)
    assert missing.value.status == 404 and missing.value.field == "id"
    for bad in ("teleport", "breach", "report"):
        with pytest.raises(Invalid) as wrong:
            lifecycle.apply(session, incident.id, bad, world.actors[LEAD], expected_version=incident.version)
        assert wrong.value.field == "action"


def test_it_maps_each_domain_error_to_its_http_status():
    from models.errors import NotFound

    pairs = [
        (IllegalTransition("x", state="REPORTED", version=1), 409),
        (VersionConflict("x", state="REPORTED", version=1), 409),
        (Forbidden("x"), 403),
        (NotFound("x"), 404),
        (Invalid("f", "x"), 422),
    ]
    assert [error.status for error, _ in pairs] == [status for _, status in pairs]
    body = VersionConflict("stale", state="ACCEPTED", version=3).as_dict()
    assert body == {"error": "version_conflict", "detail": "stale", "field": None,
                    "state": "ACCEPTED", "version": 3}


def test_it_records_how_far_over_an_accept_breach_ran(session, world):
    incident = make_in_state(session, world, State.REPORTED)
    due, system = incident.due_at, lifecycle.Actor.system("sla")
    lifecycle.breach(session, incident, system, expected_version=incident.version,
                     stage="accept", deadline=due, now=due + timedelta(seconds=30))
    lifecycle.accept(session, incident, world.actors[LEAD], expected_version=incident.version,
                     now=due + timedelta(minutes=10))
    session.commit()
    [record] = incident.breaches
    assert (record.stage, record.overdue_seconds) == ("accept", 600)
