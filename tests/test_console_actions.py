"""The console's actions through the real app: each one commits through the lifecycle and is
published to the live state in Redis (what the walls read); refusals write nothing; a stale
version is a conflict that reports the incident as it is now."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dashboard.api.context import get_session
from dashboard.console.actions import do_action, do_batch_reassign, list_allowed_actions
from models import Incident, IncidentEvent, lifecycle
from models.actor import Actor
from models.db import make_session_factory
from models.enums import Action, Role, State
from models.sla import CITY_ZONE
from tests.console_support import MINUTE, app, in_request, make_at, step, world  # noqa: F401  (fixtures)
from workers.live import publish_committed, read_cursor, read_live_incident

SLA = Actor.system("sla-timer")


def relay(engine, redis) -> None:
    publish_committed(make_session_factory(engine), redis)


def local(moment) -> str:
    """A time as the form's deadline box holds it (Beijing time, to the minute)."""
    return moment.astimezone(CITY_ZONE).strftime("%Y-%m-%d %H:%M")


def act(app, world, incident, action, who="lead-A", version=None, **values):
    with in_request(app):
        return do_action(get_session(), world.actors[who], incident.id, action,
                         expected_version=incident.version if version is None else version,
                         values=values, now=incident.updated_at + MINUTE)


def stored(session, incident_id) -> Incident:
    session.expire_all()
    return session.get(Incident, incident_id)


def event_count(session) -> int:
    return session.scalar(select(func.count()).select_from(IncidentEvent))


def make_breached(session, world) -> Incident:
    incident = make_at(session, world, State.ACCEPTED)
    lifecycle.breach(session, incident, SLA, expected_version=incident.version,
                     stage=incident.due_stage, deadline=incident.due_at, now=incident.due_at + MINUTE)
    session.commit()
    return incident


CASES = [  # (state to start from, action, form values, state after, what the live hash must show)
    (State.REPORTED, Action.ACCEPT, {}, State.ACCEPTED, {}),
    (State.ACCEPTED, Action.DISPATCH, {"department_id": "dept-A1"}, State.DISPATCHED,
     {"department_id": "dept-A1"}),
    (State.DISPATCHED, Action.REASSIGN, {"department_id": "dept-A", "reason": "转镇级"}, State.DISPATCHED,
     {"department_id": "dept-A", "reassign_count": 1}),
    (State.ACCEPTED, Action.ESCALATE, {"reason": "重大隐患"}, State.ACCEPTED,
     {"level": "town", "escalation_count": 1}),
    (State.IN_PROGRESS, Action.HOLD, {"reason": "需采购配件", "new_deadline": "+3d"}, State.ON_HOLD,
     {"due_at": "+3d"}),
    (State.DISPATCHED, Action.RETURN, {"reason": "不属本部门"}, State.RETURNED, {"return_count": 1}),
    (State.RESOLVED, Action.CLOSE, {}, State.CLOSED, None),   # closed: off the live state
    (State.CLOSED, Action.REOPEN, {"reason": "群众再次反映"}, State.REOPENED, {}),
]


@pytest.mark.parametrize(("start", "action", "values", "after", "live"), CASES, ids=lambda v: str(v))
def test_each_action_commits_and_reaches_the_live_state(app, session, engine, redis, world, start,
                                                        action, values, after, live):
    incident = make_at(session, world, start)
    relay(engine, redis)
    before = read_live_incident(redis, incident.id)
    assert (before is None) == (start == State.CLOSED)
    deadline = (incident.updated_at + MINUTE + timedelta(days=3)).replace(second=0, microsecond=0)
    resolved = {k: world.departments[v].id if k == "department_id" else
                (local(deadline) if v == "+3d" else v) for k, v in values.items()}
    version = incident.version
    outcome = act(app, world, incident, action, **resolved)
    assert outcome.ok, outcome
    assert (outcome.state, outcome.version) == (after, version + 1)
    row = stored(session, incident.id)
    assert (row.state, row.version) == (after, version + 1)
    hash_ = read_live_incident(redis, incident.id)
    assert read_cursor(redis) == session.scalar(select(func.max(IncidentEvent.id)))
    if live is None:
        assert hash_ is None
        return
    assert (hash_["state"], hash_["version"]) == (after, row.version)
    for key, value in live.items():
        expected = {"dept-A1": world.departments["dept-A1"].id, "dept-A": world.departments["dept-A"].id,
                    "+3d": deadline}.get(value, value)
        assert hash_[key] == expected, key


def test_acknowledging_an_alarm_clears_the_flash_on_the_walls(app, session, engine, redis, world):
    incident = make_breached(session, world)
    relay(engine, redis)
    assert read_live_incident(redis, incident.id)["alarm_at"] is not None
    assert Action.ACK_ALARM in list_allowed_actions(world.actors["lead-A"], incident)
    outcome = act(app, world, incident, Action.ACK_ALARM)
    assert outcome.ok
    assert read_live_incident(redis, incident.id).get("alarm_at") is None
    assert stored(session, incident.id).breaches[0].acknowledged_by == "人员lead-A"


def test_another_towns_lead_is_refused_and_nothing_is_written(app, session, engine, redis, world):
    incident = make_at(session, world, State.REPORTED)
    relay(engine, redis)
    events, live = event_count(session), read_live_incident(redis, incident.id)
    outcome = act(app, world, incident, Action.ACCEPT, who="lead-B")
    assert (outcome.ok, outcome.error, outcome.state) == (False, "forbidden", None)
    operator = act(app, world, incident, Action.ACCEPT, who="operator-A")
    assert operator.error == "forbidden"
    assert event_count(session) == events and read_live_incident(redis, incident.id) == live
    assert stored(session, incident.id).state == State.REPORTED
    assert list_allowed_actions(world.actors["lead-B"], incident) == []


def test_a_stale_version_is_a_conflict_with_the_current_state_and_who_changed_it(app, session, world):
    incident = make_at(session, world, State.REPORTED)
    seen = incident.version
    step(session, world, incident, Action.ACCEPT, actor="lead-C")  # someone else, first
    events = event_count(session)
    outcome = act(app, world, incident, Action.ESCALATE, version=seen, reason="我先看到的")
    assert (outcome.ok, outcome.error) == (False, "version_conflict")
    assert (outcome.state, outcome.version) == (State.ACCEPTED, seen + 1)
    assert outcome.latest["actor_name"] == "人员lead-C" and outcome.latest["action"] == "accept"
    assert outcome.latest["at"] == incident.updated_at.isoformat()
    assert event_count(session) == events and stored(session, incident.id).level == "village"


@pytest.mark.parametrize(("start", "action", "values", "field"), [
    (State.ACCEPTED, Action.ESCALATE, {"reason": "  "}, "reason"),
    (State.IN_PROGRESS, Action.HOLD, {"reason": "延期", "new_deadline": "明天下午"}, "new_deadline"),
    (State.IN_PROGRESS, Action.HOLD, {"reason": "延期", "new_deadline": "2020-01-01 10:00"}, "new_deadline"),
    (State.IN_PROGRESS, Action.HOLD, {"reason": "延期"}, "new_deadline"),
    (State.ACCEPTED, Action.DISPATCH, {"department_id": "dept-B1"}, "department_id"),
    (State.ACCEPTED, Action.DISPATCH, {"department_id": "abc"}, "department_id"),
    (State.ACCEPTED, Action.DISPATCH, {}, "department_id"),
    (State.RESOLVED, Action.CLOSE, {"dispute_outcome": "mediated"}, "dispute_outcome"),
])
def test_a_wrong_value_is_refused_naming_the_field(app, session, world, start, action, values, field):
    incident = make_at(session, world, start)
    if values.get("department_id") == "dept-B1":
        values = {**values, "department_id": world.departments["dept-B1"].id}
    events = event_count(session)
    outcome = act(app, world, incident, action, **values)
    assert (outcome.ok, outcome.error, outcome.field) == (False, "invalid", field)
    assert event_count(session) == events


def test_an_action_the_state_does_not_allow_is_refused_with_the_state(app, session, world):
    incident = make_at(session, world, State.REPORTED)
    outcome = act(app, world, incident, Action.CLOSE)
    assert (outcome.error, outcome.state, outcome.version) == ("illegal_transition", State.REPORTED,
                                                               incident.version)
    city = act(app, world, incident, "start")  # not one of the console's actions
    assert (city.error, city.field) == ("invalid", "action")


def test_the_browser_cannot_smuggle_parameters_or_versions(app, session, world):
    incident = make_at(session, world, State.REPORTED)
    with in_request(app):
        outcome = do_action(get_session(), world.actors["lead-A"], incident.id, Action.ACCEPT,
                            expected_version=str(incident.version),
                            values={"item_id": 1, "actor": "admin"})
    assert (outcome.error, outcome.field) == ("invalid", "expected_version")
    outcome = act(app, world, incident, Action.ACCEPT, item_id=1, priority="urgent")
    assert outcome.ok
    row = stored(session, incident.id)
    assert (row.item_id, row.priority) == (world.items["14-01"].id, incident.priority)


def test_a_batch_reassigns_each_on_its_own_and_reports_the_stale_one(app, session, engine, redis, world):
    made = [make_at(session, world, State.DISPATCHED) for _ in range(3)]
    stale = made[1]
    seen = stale.version
    step(session, world, stale, Action.ACKNOWLEDGE)  # the department signed for it meanwhile
    target = world.departments["dept-A"].id
    rows = [{"id": i.id, "version": seen if i is stale else i.version} for i in made]
    rows.append({"id": made[0].id, "version": made[0].version})  # a repeated row counts once
    with in_request(app):
        outcomes = do_batch_reassign(get_session(), world.actors["lead-A"], rows,
                                     {"department_id": target, "reason": "统一转镇级"})
    assert [(o.incident_id, o.ok, o.error) for o in outcomes] == [
        (made[0].id, True, None), (stale.id, False, "version_conflict"), (made[2].id, True, None)]
    assert (outcomes[1].state, outcomes[1].version) == (State.ACKNOWLEDGED, seen + 1)
    for incident in made:
        moved = incident is not stale
        assert (stored(session, incident.id).department_id == target) == moved
        assert (read_live_incident(redis, incident.id)["department_id"] == target) == moved


def test_a_batch_never_touches_incidents_outside_the_jurisdiction(app, session, world):
    mine, theirs = make_at(session, world, State.DISPATCHED), make_at(session, world, State.DISPATCHED,
                                                                       grid="B1a")
    rows = [{"id": i.id, "version": i.version} for i in (mine, theirs)]
    with in_request(app):
        outcomes = do_batch_reassign(get_session(), world.actors["lead-A"], rows,
                                     {"department_id": world.departments["dept-A"].id})
    assert [(o.ok, o.error) for o in outcomes] == [(True, None), (False, "forbidden")]
    assert stored(session, theirs.id).version == theirs.version


def test_two_leads_reassigning_at_once_exactly_one_wins(app, session, world):
    incident = make_at(session, world, State.DISPATCHED)
    version, barrier, outcomes = incident.version, threading.Barrier(2), {}
    targets = {"lead-A": world.departments["dept-A"].id, "lead-C": world.departments["dept-C"].id}

    def reassign(who):
        with in_request(app):
            barrier.wait()
            outcomes[who] = do_action(get_session(), world.actors[who], incident.id, Action.REASSIGN,
                                      expected_version=version, values={"department_id": targets[who]})

    threads = [threading.Thread(target=reassign, args=(who,)) for who in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [who for who, o in outcomes.items() if o.ok]
    lost = [o for o in outcomes.values() if not o.ok]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert (lost[0].error, lost[0].state, lost[0].version) == ("version_conflict", State.DISPATCHED,
                                                               version + 1)
    assert lost[0].latest["actor_name"] == world.actors[won[0]].name
    row = stored(session, incident.id)
    assert (row.department_id, row.version, row.reassign_count) == (targets[won[0]], version + 1, 1)


def test_the_drawer_offers_only_the_actions_legal_now(session, world):
    lead, admin = world.actors["lead-A"], Actor(Role.ADMIN, "管理员", 999)
    expected = {
        State.REPORTED: ["accept", "escalate"],
        State.ACCEPTED: ["dispatch", "escalate"],
        State.DISPATCHED: ["reassign", "escalate", "return"],
        State.IN_PROGRESS: ["reassign", "escalate", "hold"],
        State.RESOLVED: ["escalate", "close"],
        State.CLOSED: ["reopen"],
    }
    for state, actions in expected.items():
        incident = make_at(session, world, state)
        assert [str(a) for a in list_allowed_actions(lead, incident)] == actions, state
        assert list_allowed_actions(admin, incident) == list_allowed_actions(lead, incident)
    city = make_at(session, world, State.ACCEPTED)
    step(session, world, city, Action.ESCALATE)
    step(session, world, city, Action.ESCALATE, actor="lead-C")
    assert "escalate" not in list_allowed_actions(world.actors["lead-C"], city)
