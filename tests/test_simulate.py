"""`python -m seed simulate`: incidents reported and walked to closure through the real
HTTP API (a real server on a socket, the reference city, real Redis)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from dashboard.app import dispose
from models import Category, Incident, IncidentEvent
from models.db import make_session_factory
from models.enums import State
from seed.simulate import ApiClient, Rates, Simulator, load_world
from tests.api_support import make_api, make_token, url_of
from tests.conftest import REPO
from tests.replay import assert_legal_histories

REPORTS = 16


@pytest.fixture
def served(city_engine, redis_server, redis):
    """The real app served over HTTP on a free port, in a thread."""
    app = make_api(city_engine, redis_server.url)
    server = make_server("127.0.0.1", 0, app.server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
    dispose(app)


def _simulator(city_engine, url: str, **kwargs) -> Simulator:
    with make_session_factory(city_engine)() as session:
        world = load_world(session)
    rates = Rates(dispute=0.4, returned=0.4, rework=0.4, parked=0.2, postponed=0.2, slow=0.0)
    return Simulator(ApiClient(url, make_token(city_engine, "simulator")), world, rate=2.0, speed=600.0,
                     seed=11, rates=rates, limit=REPORTS, **kwargs)


def _drive(sim: Simulator, max_steps: int = 1000) -> int:
    """Step on a simulated clock: each step happens exactly when it is due."""
    steps = 0
    while (due := sim.next_due()) is not None and steps < max_steps:
        assert sim.step(due)
        steps += 1
    return steps


def test_it_walks_incidents_through_the_api_to_closure(city_engine, served):
    sim = _simulator(city_engine, served)
    _drive(sim)
    assert sim.counts["errors"] == 0, sim.counts
    assert sim.next_due() is None and not sim.cases
    with make_session_factory(city_engine)() as session:
        sources = session.execute(select(Incident.source, func.count()).group_by(Incident.source)).all()
        assert dict(sources) == {"api:simulator": REPORTS}
        assert session.scalar(select(func.count()).where(Incident.state == State.CLOSED)) == REPORTS
        assert assert_legal_histories(session) == REPORTS
        actions = dict(session.execute(select(IncidentEvent.action, func.count())
                                       .group_by(IncidentEvent.action)).all())
        assert actions["return"] >= 1 and actions["rework"] >= 1 and actions["hold"] >= 1
        outcomes = session.scalars(select(Incident.dispute_outcome).join(
            Category, Category.id == Incident.category_id).where(Category.code == 9)).all()
        assert outcomes and all(o in ("mediated", "failed") for o in outcomes)
    assert sim.counts["disputes_closed"] == len(outcomes)
    assert sim.counts["steps"] == sum(actions.values()) - actions["report"]


def test_it_rereads_and_retries_a_step_after_a_version_conflict(city_engine, served):
    sim = _simulator(city_engine, served)
    sim.limit = 1
    assert sim.step(sim.next_due())  # the report
    case = next(iter(sim.cases.values()))
    case.version -= 1  # as if someone else had written since we read it
    assert sim.step(sim.next_due())  # 409: re-read, retried at once
    assert sim.counts["conflicts"] == 1 and sim.counts["accept"] == 0
    assert sim.step(sim.next_due())
    assert sim.counts["accept"] == 1 and sim.counts["errors"] == 0


def test_it_runs_from_the_command_line_and_prints_a_summary(city_engine, served):
    env = {**os.environ, "DATABASE_URL": url_of(city_engine),
           "GRID_API_TOKEN": make_token(city_engine, "sim-cli")}
    command = [sys.executable, "-m", "seed", "--quiet", "simulate", "--url", served, "--rate", "4",
               "--speed", "6000", "--duration", "6", "--seed", "5"]
    done = subprocess.run(command, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert any(line.startswith("reported ") for line in lines[:-1]), done.stdout
    summary = json.loads(lines[-1])
    assert summary["reported"] >= 5 and summary.get("errors", 0) == 0, summary
    with make_session_factory(city_engine)() as session:
        made = session.scalar(select(func.count()).where(Incident.source == "api:sim-cli"))
        closed = session.scalar(select(func.count()).where(Incident.state == State.CLOSED))
    assert made == summary["reported"] and closed >= 1
