"""API tokens: `python -m dashboard create-token`, only a hash stored, revocation."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from dashboard.app import dispose
from models.db import make_session_factory
from models.token import ApiToken
from tests.api_support import (  # noqa: F401  (fixtures)
    api,
    client,
    make_api,
    make_report,
    make_token,
    revoke_token,
    url_of,
    written,
)
from tests.conftest import REPO


def _cli(*args, engine):
    env = {**os.environ, "DATABASE_URL": url_of(engine)}
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def _rows(engine) -> list[ApiToken]:
    with make_session_factory(engine)() as session:
        return list(session.scalars(select(ApiToken)))


def test_it_prints_a_new_token_once_and_stores_only_its_hash(city_engine, client):
    result = _cli("create-token", "field-app", engine=city_engine)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert len(token) >= 40 and "\n" not in token
    [row] = _rows(city_engine)
    assert row.name == "field-app" and row.revoked_at is None
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = [str(getattr(row, c.key)) for c in ApiToken.__table__.columns]
    assert not any(token in value for value in stored)
    response = client.post("/api/v1/incidents", json=make_report(),
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201


def test_it_never_writes_the_raw_token_to_the_database_file(city_engine, client):
    if city_engine.dialect.name != "sqlite":
        pytest.skip("reads the SQLite file itself; the column check covers PostgreSQL")
    token = make_token(city_engine)
    client.post("/api/v1/incidents", json=make_report(), headers={"Authorization": f"Bearer {token}"})
    city_engine.dispose()
    database = city_engine.url.database
    contents = b"".join(Path(p).read_bytes() for p in (database, database + "-wal") if os.path.exists(p))
    assert hashlib.sha256(token.encode()).hexdigest().encode() in contents
    assert token.encode() not in contents


def test_it_refuses_a_bad_token_name(city_engine):
    result = _cli("create-token", "Field App!", engine=city_engine)
    assert result.returncode == 1
    assert "a-z" in result.stderr
    assert _rows(city_engine) == []


def test_it_stops_accepting_a_revoked_token(api, client, city_engine):
    token = make_token(city_engine, "old-app")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/incidents", json=make_report(), headers=headers).status_code == 201
    result = _cli("revoke-token", "old-app", engine=city_engine)
    assert result.returncode == 0, result.stderr
    before = written(api)
    response = client.post("/api/v1/incidents", json=make_report(), headers=headers)
    assert response.status_code == 401
    assert written(api) == before


def test_it_keeps_a_rotated_clients_retries_idempotent(api, client, city_engine):
    old = {"Authorization": f"Bearer {make_token(city_engine, 'gateway')}"}
    first = client.post("/api/v1/incidents", json=make_report(client_ref="g-1"), headers=old)
    new = {"Authorization": f"Bearer {make_token(city_engine, 'gateway')}"}
    assert len(_rows(city_engine)) == 2
    again = client.post("/api/v1/incidents", json=make_report(client_ref="g-1"), headers=new)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]


def test_it_caches_a_token_for_a_few_seconds_only(city_engine, redis_server, redis):
    app = make_api(city_engine, redis_server.url, API_TOKEN_CACHE_SECONDS=3)  # a margin for busy CI
    client = app.server.test_client()
    headers = {"Authorization": f"Bearer {make_token(city_engine, 'cached')}"}
    try:
        assert client.post("/api/v1/incidents", json=make_report(), headers=headers).status_code == 201
        revoke_token(city_engine, "cached")
        assert client.post("/api/v1/incidents", json=make_report(), headers=headers).status_code == 201
        time.sleep(3.1)
        assert client.post("/api/v1/incidents", json=make_report(), headers=headers).status_code == 401
    finally:
        dispose(app)
