"""POST /api/v1/incidents/{id}/actions/{action}: every action through HTTP, the whole
closed loop, and every refusal with proof that nothing was written."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from dashboard.api.actions import ACTIONS
from models import Incident, Staff
from models.db import make_session_factory
from models.enums import Role
from models.routing import list_candidate_departments
from tests.api_support import (  # noqa: F401  (fixtures)
    act,
    api,
    auth,
    client,
    post_report,
    token,
    written,
)
from workers import keys


def _places(engine, incident_id: int) -> tuple[list[int], dict[int, list[int]]]:
    """Departments that may take the incident, and their handlers."""
    with make_session_factory(engine)() as session:
        departments = list_candidate_departments(session, session.get(Incident, incident_id))
        rows = session.execute(select(Staff.department_id, Staff.id).where(
            Staff.department_id.in_(departments), Staff.role == Role.HANDLER)).all()
    handlers: dict[int, list[int]] = {}
    for department_id, staff_id in rows:
        handlers.setdefault(department_id, []).append(staff_id)
    return departments, handlers


class Walker:
    """Applies actions in turn, always naming the version it last read."""

    def __init__(self, client, auth, incident_id: int, version: int = 1):
        self.client, self.auth, self.id, self.version = client, auth, incident_id, version
        self.actions: list[str] = ["report"]

    def __call__(self, action: str, **params) -> dict:
        response = act(self.client, self.auth, self.id, action, expected_version=self.version, **params)
        assert response.status_code == 200, (action, response.get_json())
        body = response.get_json()
        assert body["event"]["action"] == action and body["event"]["version"] == body["incident"]["version"]
        self.version = body["incident"]["version"]
        self.actions.append(action)
        return body["incident"]


def _report(client, auth) -> int:
    return post_report(client, auth).get_json()["id"]


def test_it_walks_the_whole_closed_loop_through_the_api(client, auth, city_engine, redis):
    incident_id = _report(client, auth)
    step = Walker(client, auth, incident_id)
    departments, handlers = _places(city_engine, incident_id)
    first, second = departments[0], departments[1]
    assert step("accept", priority="urgent")["state"] == "ACCEPTED"
    deadline = (datetime.now(timezone.utc) + timedelta(hours=6)).isoformat()
    dispatched = step("dispatch", department_id=first, deadline=deadline)
    assert (dispatched["state"], dispatched["department_id"]) == ("DISPATCHED", first)
    assert datetime.fromisoformat(dispatched["due_at"]) == datetime.fromisoformat(deadline)
    assert step("return", reason="非本部门职责")["state"] == "RETURNED"
    step("dispatch", department_id=second)
    assert step("reassign", department_id=first, assignee_id=handlers[first][0],
                reason="调整承办人")["assignee_id"] == handlers[first][0]
    assert step("escalate", reason="需要镇街协调")["level"] == "town"
    step("acknowledge")
    step("start")
    step("hold", reason="等待物业配合")
    step("resume")
    step("resolve", reason="已清理")
    assert step("rework", reason="现场核查未清理干净")["state"] == "IN_PROGRESS"
    step("resolve")
    closed = step("close", satisfaction="satisfied")
    assert (closed["state"], closed["satisfaction"]) == ("CLOSED", "satisfied")
    assert not redis.exists(keys.LIVE_INCIDENT.format(incident_id=incident_id))
    step("rate", satisfaction="neutral")
    assert step("reopen", reason="群众反映问题复发")["state"] == "REOPENED"
    assert redis.exists(keys.LIVE_INCIDENT.format(incident_id=incident_id))
    timeline = client.get(f"/api/v1/incidents/{incident_id}", headers=auth).get_json()["timeline"]
    assert [e["action"] for e in timeline] == step.actions
    assert [e["version"] for e in timeline] == list(range(1, len(step.actions) + 1))


@pytest.mark.parametrize("action", ["invalidate", "not-ours"])
def test_it_sets_a_report_aside_with_a_reason(client, auth, action):
    step = Walker(client, auth, _report(client, auth))
    incident = step(action, reason="测试数据")
    assert incident["state"] == {"invalidate": "INVALID", "not-ours": "NOT_OURS"}[action]
    assert incident["due_at"] is None


def test_it_marks_a_duplicate_of_another_incident(client, auth):
    original = _report(client, auth)
    step = Walker(client, auth, _report(client, auth))
    assert step("duplicate", reason="同一事件", duplicate_of_id=original)["state"] == "DUPLICATE"


def test_it_closes_a_self_handled_report_after_review(client, auth):
    step = Walker(client, auth, _report(client, auth))
    assert step("self-handle", reason="网格员现场劝导已清理")["state"] == "SELF_HANDLED"
    assert step("close")["state"] == "CLOSED"


def test_it_postpones_to_a_new_deadline(client, auth, city_engine):
    incident_id = _report(client, auth)
    step = Walker(client, auth, incident_id)
    step("accept")
    step("dispatch", department_id=_places(city_engine, incident_id)[0][0])
    step("acknowledge")
    step("start")
    later = (datetime.now(timezone.utc) + timedelta(days=3)).replace(microsecond=0)
    held = step("hold", reason="需要协调施工", new_deadline=later.isoformat())
    assert (held["postpone_count"], datetime.fromisoformat(held["due_at"])) == (1, later)


def test_it_covers_every_action_the_issue_names():
    named = {"accept", "dispatch", "acknowledge", "start", "hold", "resume", "resolve", "close",
             "rework", "reopen", "return", "reassign", "escalate", "invalidate", "duplicate",
             "not-ours", "self-handle"}
    assert named <= set(ACTIONS)
    assert set(ACTIONS) - named == {"rate", "ack-alarm"}


# ---------------------------------------------------------------- refusals


def _refused(api, client, auth, incident_id, action, status, body=None, raw=None):
    before = written(api)
    path = f"/api/v1/incidents/{incident_id}/actions/{action}"
    if raw is not None:
        response = client.post(path, data=raw, headers={**auth, "Content-Type": "application/json"})
    else:
        response = client.post(path, json=body, headers=auth)
    assert response.status_code == status, response.get_json()
    assert written(api) == before
    return response.get_json()


def test_it_answers_a_stale_version_with_409_and_the_current_state(api, client, auth):
    step = Walker(client, auth, _report(client, auth))
    step("accept")
    error = _refused(api, client, auth, step.id, "invalidate", 409, {"expected_version": 1, "reason": "x"})
    assert (error["error"], error["state"], error["version"]) == ("version_conflict", "ACCEPTED", 2)


def test_it_answers_an_illegal_transition_with_409_and_the_current_state(api, client, auth):
    incident_id = _report(client, auth)
    error = _refused(api, client, auth, incident_id, "start", 409, {"expected_version": 1})
    assert (error["error"], error["state"], error["version"]) == ("illegal_transition", "REPORTED", 1)


def test_it_lets_one_of_two_racing_writers_win(api, client, auth, city_engine):
    incident_id = _report(client, auth)
    step = Walker(client, auth, incident_id)
    step("accept")
    department = _places(city_engine, incident_id)[0][0]
    step("dispatch", department_id=department)
    statuses, barrier = [], threading.Barrier(4)

    def escalate(reason):
        barrier.wait()
        response = act(api.server.test_client(), auth, incident_id, "escalate",
                       expected_version=step.version, reason=reason)
        statuses.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=escalate, args=(f"值班长{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in statuses) == [200, 409, 409, 409]
    for status, body in statuses:
        if status == 409:
            assert (body["state"], body["version"]) == ("DISPATCHED", step.version + 1)


@pytest.mark.parametrize(("incident_id", "action"), [(999_999, "accept"), (2**70, "accept"),
                                                      (1, "breach"), (1, "fly")])
def test_it_answers_an_unknown_incident_or_action_with_404(api, client, auth, incident_id, action):
    _report(client, auth)
    error = _refused(api, client, auth, incident_id, action, 404, {"expected_version": 1})
    assert error["error"] == "not_found" and error["field"] in ("id", "action")


BAD_BODIES = [
    ("rework", {"expected_version": 1}, "reason"),
    ("accept", {"expected_version": "1"}, "expected_version"),
    ("accept", {}, "expected_version"),
    ("accept", {"expected_version": 1, "department_id": 3}, "department_id"),
    ("accept", {"expected_version": 1, "item_code": "99-99"}, "item_code"),
    ("accept", {"expected_version": 1, "priority": "soon"}, "priority"),
    ("invalidate", {"expected_version": 1, "reason": ""}, "reason"),
    ("duplicate", {"expected_version": 1, "reason": "同一事件", "duplicate_of_id": 1}, "duplicate_of_id"),
    ("duplicate", {"expected_version": 1, "reason": "同一事件", "duplicate_of_id": 424242}, "duplicate_of_id"),
    ("close", {"expected_version": 1, "satisfaction": "happy"}, "satisfaction"),
]


@pytest.mark.parametrize(("action", "body", "field"), BAD_BODIES, ids=[f"{a}-{f}" for a, _, f in BAD_BODIES])
def test_it_refuses_invalid_parameters_with_422_naming_the_field(api, client, auth, action, body, field):
    incident_id = _report(client, auth)
    error = _refused(api, client, auth, incident_id, action, 422, body)
    assert (error["error"], error["field"]) == ("invalid", field)


def test_it_refuses_a_department_that_does_not_take_the_incident(api, client, auth, city_engine):
    incident_id = _report(client, auth)
    step = Walker(client, auth, incident_id)
    step("accept")
    error = _refused(api, client, auth, incident_id, "dispatch", 422,
                     {"expected_version": step.version, "department_id": 3})  # the city fire brigade
    assert error["field"] == "department_id"
    naive = (datetime.now() + timedelta(hours=2)).isoformat()
    error = _refused(api, client, auth, incident_id, "dispatch", 422,
                     {"expected_version": step.version, "department_id": 8, "deadline": naive})
    assert error["field"] == "deadline"


def test_it_refuses_malformed_json_and_oversized_bodies(api, client, auth):
    incident_id = _report(client, auth)
    malformed = _refused(api, client, auth, incident_id, "accept", 400, raw=b"{expected_version: 1}")
    assert malformed["error"] == "malformed_json"
    huge = {"expected_version": 1, "reason": "因" * 100_000}
    assert _refused(api, client, auth, incident_id, "invalidate", 413, huge)["error"] == "request_entity_too_large"


def test_it_refuses_an_action_without_a_token(api, client, auth):
    incident_id = _report(client, auth)
    before = written(api)
    response = client.post(f"/api/v1/incidents/{incident_id}/actions/accept", json={"expected_version": 1})
    assert response.status_code == 401
    assert written(api) == before
