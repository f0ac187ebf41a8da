"""Commit, then publish: what the API writes reaches live state in Redis (in both
publishing modes), and a Redis that is away never fails a request."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from dashboard.app import dispose
from models import IncidentEvent
from models.db import make_session_factory
from tests.api_support import make_api, make_report, token  # noqa: F401  (fixtures)
from workers.live import read_cursor, read_live_incident


def _last_event_id(engine) -> int:
    with make_session_factory(engine)() as session:
        return session.scalar(select(func.max(IncidentEvent.id)))


def test_it_publishes_in_the_background_after_commits(city_engine, redis_server, redis, token):
    app = make_api(city_engine, redis_server.url, LIVE_PUBLISH="background")
    headers = {"Authorization": f"Bearer {token}"}
    ids, errors = [], []

    def report(n):
        client = app.server.test_client()
        for _ in range(n):
            response = client.post("/api/v1/incidents", json=make_report(), headers=headers)
            (ids if response.status_code == 201 else errors).append(response.get_json().get("id"))

    try:
        threads = [threading.Thread(target=report, args=(15,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert app.server.extensions["grid"].publisher.wait_idle(10)
        assert read_cursor(redis) == _last_event_id(city_engine)
        assert all(read_live_incident(redis, i)["state"] == "REPORTED" for i in ids)
    finally:
        dispose(app)


def test_it_publishes_before_answering_in_sync_mode(city_engine, redis_server, redis, token):
    app = make_api(city_engine, redis_server.url, LIVE_PUBLISH="sync")
    try:
        response = app.server.test_client().post(
            "/api/v1/incidents", json=make_report(), headers={"Authorization": f"Bearer {token}"})
        assert read_live_incident(redis, response.get_json()["id"])["version"] == 1
    finally:
        dispose(app)


def test_it_commits_a_report_while_redis_is_away(city_engine, token, caplog):
    app = make_api(city_engine, "redis://127.0.0.1:9/0", REDIS_SOCKET_TIMEOUT=0.5)  # nothing listens there
    try:
        response = app.server.test_client().post(
            "/api/v1/incidents", json=make_report(), headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 201
        assert _last_event_id(city_engine) is not None
        assert "relay will catch up" in caplog.text
    finally:
        dispose(app)
