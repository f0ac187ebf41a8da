"""Fixtures and helpers shared by tests/test_console_*.py (import the fixtures by name).

The small world of tests/factories.py (two towns, each a village with two grids) in a real
SQLite file, the real app (create_app) on it, and the real redis-server. Incidents are moved
along with the lifecycle functions at explicit times; the console acts through its own code.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest

from dashboard.app import dispose
from models import Incident, lifecycle
from models.enums import Action, Channel, State
from tests.api_support import make_api
from tests.factories import T0, make_world

LEAD = "lead-A"
MINUTE = timedelta(minutes=1)

# The steps that bring a new incident to each state (the shift lead of its town acts).
PATHS = {
    State.REPORTED: [],
    State.ACCEPTED: [Action.ACCEPT],
    State.DISPATCHED: [Action.ACCEPT, Action.DISPATCH],
    State.ACKNOWLEDGED: [Action.ACCEPT, Action.DISPATCH, Action.ACKNOWLEDGE],
    State.IN_PROGRESS: [Action.ACCEPT, Action.DISPATCH, Action.ACKNOWLEDGE, Action.START],
    State.RESOLVED: [Action.ACCEPT, Action.DISPATCH, Action.ACKNOWLEDGE, Action.START, Action.RESOLVE],
    State.CLOSED: [Action.ACCEPT, Action.DISPATCH, Action.ACKNOWLEDGE, Action.START, Action.RESOLVE,
                   Action.CLOSE],
}


@pytest.fixture
def world(session):
    return make_world(session)


@pytest.fixture
def app(engine, world, redis_server, redis):
    """The whole app on the small world, publishing synchronously (as the API tests do)."""
    made = make_api(engine, redis_server.url)
    yield made
    dispose(made)


@contextmanager
def in_request(app):
    """What one callback gets: an app context with its own SQL session (closed at the end)."""
    with app.server.app_context():
        yield


def default_params(world, incident: Incident, action: Action) -> dict:
    town = "A" if incident.town_id == world.areas["A"].id else "B"
    if action == Action.DISPATCH:
        return {"department_id": world.departments[f"dept-{town}1"].id}
    if action in (Action.ESCALATE, Action.RETURN, Action.REOPEN, Action.REWORK):
        return {"reason": "测试理由"}
    return {}


def step(session, world, incident: Incident, action: Action, *, actor: str | None = None,
         now=None, **params) -> Incident:
    """One lifecycle step by a lead of the incident's town, committed."""
    town = "A" if incident.town_id == world.areas["A"].id else "B"
    who = world.actors[actor or f"lead-{town}"]
    now = now or incident.updated_at + MINUTE
    lifecycle.HANDLERS[action](session, incident, who, expected_version=incident.version, now=now,
                               **{**default_params(world, incident, action), **params})
    session.commit()
    return incident


def make_at(session, world, state: State, *, now=T0, item: str = "14-01", grid: str = "A1a",
            **kwargs) -> Incident:
    """A new incident reported by its town's lead in `grid`, brought to `state` one minute per
    step after `now`."""
    params = {"item_id": world.items[item].id, "area_id": world.areas[grid].id,
              "description": "楼道堆放杂物，堵塞消防通道", "channel": Channel.HOTLINE, **kwargs}
    incident = lifecycle.report(session, world.actors[f"lead-{grid[0]}"], now=now, **params)
    session.commit()
    for action in PATHS[state]:
        step(session, world, incident, action)
    assert incident.state == state
    return incident
