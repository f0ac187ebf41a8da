"""Breach alarms: a breach flashes on the walls until a shift lead acknowledges it, and the
acknowledgement reaches every wall on the incident's path through the outbox and the relay."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from models import Area, Breach, Incident, IncidentEvent, Item
from models import lifecycle
from models.actor import Actor
from models.db import make_session_factory
from models.enums import Action, AreaLevel, Channel, State
from models.errors import Forbidden, IllegalTransition, VersionConflict
from models.types import utcnow
from seed.history import ACK_DELAY_MINUTES, generate_history
from tests.api_support import GRID, act, api, auth, client, token, written  # noqa: F401  (fixtures)
from tests.factories import T0, make_incident, make_world
from tests.replay import assert_legal_histories
from workers import keys, live, sla

SLA = Actor.system("sla-timer")
LEAD = "lead-A"


@pytest.fixture
def world(session):
    return make_world(session)


def breach_now(session, incident: Incident, late: timedelta = timedelta(minutes=1)) -> datetime:
    """Record the breach of the running deadline `late` after it passed; returns when."""
    now = incident.due_at + late
    event = lifecycle.breach(session, incident, SLA, expected_version=incident.version,
                             stage=incident.due_stage, deadline=incident.due_at, now=now)
    assert event is not None, "the breach should hold"
    return now


def ack(session, world, incident: Incident, actor: str = LEAD, **kwargs) -> IncidentEvent:
    params = {"expected_version": incident.version, "now": incident.updated_at + timedelta(minutes=3),
              **kwargs}
    return lifecycle.ack_alarm(session, incident, world.actors[actor], **params)


def make_breached(session, world) -> Incident:
    incident = make_incident(session, world)
    breach_now(session, incident)
    session.commit()
    return incident


def read_state(session, incident_id: int) -> tuple:
    """Everything an acknowledgement could change: the incident, its breaches, the events."""
    session.expire_all()
    row = session.get(Incident, incident_id)
    columns = {c.key: getattr(row, c.key) for c in Incident.__table__.columns}
    breaches = [(b.id, b.acknowledged_at, b.acknowledged_by) for b in row.breaches]
    events = session.scalar(select(func.count()).select_from(IncidentEvent))
    return columns, breaches, events


# ---------------------------------------------------------------- the lifecycle

def test_it_raises_the_alarm_when_a_deadline_is_breached(session, world):
    incident = make_incident(session, world)
    assert incident.alarm_at is None
    detected = breach_now(session, incident)
    session.commit()
    [record] = incident.breaches
    assert incident.alarm_at == detected == record.detected_at
    assert (record.acknowledged_at, record.acknowledged_by) == (None, None)


def test_it_clears_the_alarm_and_stamps_every_unacknowledged_breach(session, world):
    incident = make_incident(session, world)
    breach_now(session, incident)  # accept
    lifecycle.accept(session, incident, world.actors[LEAD], expected_version=incident.version,
                     now=incident.due_at + timedelta(minutes=10))
    second = breach_now(session, incident)  # dispatch
    session.commit()
    assert incident.alarm_at == second
    state, version = incident.state, incident.version

    event = ack(session, world, incident, reason="已通知责任部门")
    session.commit()
    session.expire_all()

    assert incident.alarm_at is None
    assert (incident.state, incident.version) == (state, version + 1)
    acked = event.at
    assert [(b.stage, b.acknowledged_at, b.acknowledged_by) for b in incident.breaches] == [
        ("accept", acked, world.actors[LEAD].name), ("dispatch", acked, world.actors[LEAD].name)]
    assert (event.action, event.from_state, event.to_state) == ("ack-alarm", state, state)
    assert (event.version, event.reason) == (incident.version, "已通知责任部门")
    named = [{"stage": b.stage.value, "deadline": b.deadline.isoformat()} for b in incident.breaches]
    assert event.payload == {"alarm_at": second.isoformat(), "breaches": named}


def test_it_stamps_only_the_breaches_not_yet_acknowledged(session, world):
    incident = make_breached(session, world)
    first = ack(session, world, incident)
    lifecycle.accept(session, incident, world.actors[LEAD], expected_version=incident.version,
                     now=first.at + timedelta(minutes=1))
    breach_now(session, incident)
    second = ack(session, world, incident, actor="lead-C")
    session.commit()
    assert [(b.acknowledged_at, b.acknowledged_by) for b in incident.breaches] == [
        (first.at, world.actors[LEAD].name), (second.at, world.actors["lead-C"].name)]
    assert [b["stage"] for b in second.payload["breaches"]] == ["dispatch"]


def test_it_refuses_to_acknowledge_when_no_alarm_stands(session, world):
    quiet = make_incident(session, world)
    session.commit()
    before = read_state(session, quiet.id)
    with pytest.raises(IllegalTransition) as caught:
        ack(session, world, quiet)
    assert (caught.value.state, caught.value.version) == (State.REPORTED, 1)
    session.commit()
    assert read_state(session, quiet.id) == before

    acknowledged = make_breached(session, world)
    ack(session, world, acknowledged)
    session.commit()
    with pytest.raises(IllegalTransition):  # once is enough
        ack(session, world, acknowledged)


def test_it_refuses_a_stale_version_and_writes_nothing(session, world):
    incident = make_breached(session, world)
    before = read_state(session, incident.id)
    with pytest.raises(VersionConflict) as caught:
        ack(session, world, incident, expected_version=incident.version - 1)
    assert caught.value.version == incident.version
    session.commit()
    assert read_state(session, incident.id) == before


@pytest.mark.parametrize("actor", ["operator-A", "lead-B", "worker-A1a", "handler-A"])
def test_it_lets_only_a_lead_with_jurisdiction_acknowledge(session, world, actor):
    incident = make_breached(session, world)
    before = read_state(session, incident.id)
    with pytest.raises(Forbidden):
        ack(session, world, incident, actor=actor)
    session.commit()
    assert read_state(session, incident.id) == before
    ack(session, world, incident, actor="lead-A1")  # the village's own lead may
    assert incident.alarm_at is None


def test_it_keeps_the_alarm_through_closing_and_flashes_again_when_reopened(session, world):
    incident = make_incident(session, world)
    for step in ("accept", "dispatch", "acknowledge", "start", "resolve"):
        params = {"department_id": world.departments["dept-A"].id} if step == "dispatch" else {}
        lifecycle.HANDLERS[step](session, incident, world.actors[LEAD],
                                 expected_version=incident.version, now=T0, **params)
    detected = breach_now(session, incident)  # the on-site check ran late
    lifecycle.close(session, incident, world.actors[LEAD], expected_version=incident.version,
                    now=detected + timedelta(minutes=1))
    session.commit()
    assert (incident.state, incident.alarm_at) == (State.CLOSED, detected)
    with pytest.raises(IllegalTransition):
        ack(session, world, incident)
    lifecycle.reopen(session, incident, world.actors[LEAD], expected_version=incident.version,
                     reason="群众反映问题复发", now=detected + timedelta(hours=1))
    event = lifecycle.apply(session, incident.id, Action.ACK_ALARM, world.actors[LEAD],
                            expected_version=incident.version, now=detected + timedelta(hours=2))
    assert (event.to_state, incident.alarm_at) == (State.REOPENED, None)


# ---------------------------------------------------------------- live state

def test_it_carries_the_alarm_through_the_relay_and_a_rebuild(session, world, redis):
    incident = make_breached(session, world)
    live.rebuild_live_state(session, redis)
    assert live.read_live_incident(redis, incident.id)["alarm_at"] == incident.alarm_at

    ack(session, world, incident)
    session.commit()
    assert live.relay_step(session, redis) == 1
    assert live.read_live_incident(redis, incident.id)["alarm_at"] is None
    assert "alarm_at" not in redis.hgetall(keys.LIVE_INCIDENT.format(incident_id=incident.id))
    live.rebuild_live_state(session, redis)
    assert live.read_live_incident(redis, incident.id)["alarm_at"] is None


# ---------------------------------------------------------------- through the API

def make_late_incident(engine, redis) -> int:
    """An incident reported three hours ago, its accept deadline breached by the SLA sweep."""
    factory = make_session_factory(engine)
    with factory() as session:
        grid = session.scalar(select(Area).where(Area.code == GRID))
        item = session.scalar(select(Item).where(Item.code == "14-01"))
        incident = lifecycle.report(
            session, Actor.system("test-intake"), item_id=item.id, area_id=grid.id,
            description="楼道堆放杂物", channel=Channel.HOTLINE, priority="urgent",
            now=utcnow() - timedelta(hours=3))
        session.commit()
        incident_id = incident.id
    assert sla.sweep_breaches(factory, redis) == 1
    return incident_id


def read_paths(engine, incident_id: int) -> dict[str, int]:
    with make_session_factory(engine)() as session:
        incident = session.get(Incident, incident_id)
        return {"city": incident.city_id, "town": incident.town_id, "village": incident.village_id}


def collect_notices(pubsub, count: int, timeout: float = 10.0) -> dict[str, dict]:
    found, deadline = {}, time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
        if message and message["type"] == "message":
            found[message["channel"]] = json.loads(message["data"])
    return found


def subscribe(redis, channels: list[str]):
    """A subscriber whose subscriptions the server has confirmed (so nothing is missed)."""
    pubsub = redis.pubsub()
    pubsub.subscribe(*channels)
    confirmed, deadline = 0, time.monotonic() + 10
    while confirmed < len(channels) and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
        confirmed += bool(message and message["type"] == "subscribe")
    assert confirmed == len(channels), "the subscriptions were not confirmed"
    return pubsub


def test_it_acknowledges_through_the_api_and_tells_every_wall(api, client, auth, city_engine, redis):
    incident_id = make_late_incident(city_engine, redis)
    shown = client.get(f"/api/v1/incidents/{incident_id}", headers=auth).get_json()
    assert shown["alarm_at"] is not None and shown["level"] == AreaLevel.TOWN
    alarm_at = datetime.fromisoformat(shown["alarm_at"])
    assert live.read_live_incident(redis, incident_id)["alarm_at"] == alarm_at
    areas = read_paths(city_engine, incident_id)
    channels = {level: keys.CHANNEL_AREA.format(area_id=a) for level, a in areas.items()}
    pubsub = subscribe(redis, list(channels.values()))
    try:
        response = act(client, auth, incident_id, "ack-alarm", expected_version=shown["version"])
        assert response.status_code == 200, response.get_json()
        notices = collect_notices(pubsub, len(channels))
    finally:
        pubsub.close()

    body = response.get_json()
    assert body["incident"]["alarm_at"] is None and body["incident"]["state"] == shown["state"]
    assert body["event"]["action"] == "ack-alarm"
    assert body["event"]["payload"]["alarm_at"] == shown["alarm_at"]
    assert live.read_live_incident(redis, incident_id)["alarm_at"] is None
    missing = set(channels.values()) - set(notices)
    assert not missing, f"no ack-alarm notice on {missing}"
    for notice in notices.values():
        assert (notice["incident_id"], notice["action"]) == (incident_id, "ack-alarm")
        assert (notice["version"], notice["seq"]) == (body["incident"]["version"], body["event"]["id"])
        assert set(areas.values()) <= set(notice["areas"])


def test_it_writes_nothing_when_an_acknowledgement_conflicts(api, client, auth, city_engine, redis):
    incident_id = make_late_incident(city_engine, redis)
    version = client.get(f"/api/v1/incidents/{incident_id}", headers=auth).get_json()["version"]
    before = written(api)
    stale = act(client, auth, incident_id, "ack-alarm", expected_version=version - 1)
    assert stale.status_code == 409 and stale.get_json()["error"] == "version_conflict"
    assert written(api) == before

    assert act(client, auth, incident_id, "ack-alarm", expected_version=version).status_code == 200
    before = written(api)
    again = act(client, auth, incident_id, "ack-alarm", expected_version=version + 1)
    error = again.get_json()
    assert (again.status_code, error["error"], error["version"]) == (409, "illegal_transition", version + 1)
    assert written(api) == before


def test_it_documents_the_ack_alarm_action(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/incidents/{incident_id}/actions/ack-alarm"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/OptionalReasonIn")
    assert "alarm_at" in doc["components"]["schemas"]["IncidentOut"]["properties"]


# ---------------------------------------------------------------- history

def test_it_leaves_only_the_latest_breaches_flashing_in_history(city_session):
    end = datetime(2026, 11, 8, 4, 0, tzinfo=timezone.utc)  # noon in the city
    generate_history(city_session, days=1, per_day=300, seed=3, end=end, progress=False)

    assert assert_legal_histories(city_session) > 0  # every ack-alarm follows a breach
    acks = city_session.scalar(select(func.count()).select_from(IncidentEvent).where(
        IncidentEvent.action == Action.ACK_ALARM))
    assert acks > 0, "history should acknowledge some breach alarms"
    flashing = city_session.scalars(select(Incident).where(Incident.alarm_at.is_not(None))).all()
    latest = timedelta(minutes=ACK_DELAY_MINUTES[1])
    for incident in flashing:
        assert incident.is_open, f"closed incident {incident.id} still has an alarm"
        assert incident.alarm_at > end - latest, incident.id
    flashing_ids = {i.id for i in flashing}
    for record in city_session.scalars(select(Breach)):
        if record.acknowledged_at is None:
            assert record.incident_id in flashing_ids, record.id
        else:
            assert record.detected_at <= record.acknowledged_at <= end, record.id
