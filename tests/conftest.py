"""Fixtures: a real redis-server on a free port, and a fresh real database per test.

The database is an SQLite file unless TEST_DATABASE_URL points at a PostgreSQL server
(CI does that for the `db` tests); then every test gets its own new database there.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import models
from models.db import make_engine, make_session_factory
from workers.embedded_redis import EmbeddedRedis

REPO = Path(__file__).resolve().parents[1]


def require_file(relative: str) -> Path:
    """A data file the test needs; a missing one fails loudly instead of skipping."""
    path = REPO / relative
    if not path.exists():
        pytest.fail(f"required data file {relative} is missing from the repository", pytrace=False)
    return path


def pytest_collection_modifyitems(items):
    for item in items:
        if {"db_url", "engine", "session", "city_engine", "city_session"} & set(item.fixturenames):
            item.add_marker(pytest.mark.db)


# ------------------------------------------------------------------ redis

@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False).start()
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server):
    client = redis_lib.Redis.from_url(redis_server.url, socket_timeout=5, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


# ------------------------------------------------------------------ databases

class PostgresDatabases:
    """Creates and drops throwaway databases on the server TEST_DATABASE_URL names."""

    def __init__(self, url: str):
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")

    def create(self, template: str | None = None) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        suffix = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres():
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield None
        return
    databases = PostgresDatabases(url)
    yield databases
    databases.admin.dispose()


@pytest.fixture
def db_url(tmp_path, postgres):
    """An empty database with no schema."""
    if postgres is None:
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    url = postgres.create()
    yield url
    postgres.drop(url)


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    models.Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with make_session_factory(engine)() as session:
        yield session


@pytest.fixture(scope="session")
def city_template(tmp_path_factory, postgres):
    """The reference city, built once per run; tests get copies."""
    from dashboard.auth.accounts import DEMO_PASSWORD, set_demo_passwords
    from seed.city import build_city

    if postgres is None:
        url = f"sqlite:///{tmp_path_factory.mktemp('city') / 'city.sqlite3'}"
    else:
        url = postgres.create()
    engine = make_engine(url)
    models.Base.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        build_city(session, seed=2024, progress=False)
        set_demo_passwords(session, DEMO_PASSWORD)  # as `seed ensure` does: demo logins work
        session.commit()
    engine.dispose()
    yield url
    if postgres is not None:
        postgres.drop(url)


def copy_city(city_template: str, folder: Path, postgres, name: str = "city") -> str:
    """A new database holding a copy of the reference city; returns its URL."""
    if postgres is None:
        target = folder / f"{name}.sqlite3"
        shutil.copy(make_url(city_template).database, target)
        return f"sqlite:///{target}"
    return postgres.create(template=make_url(city_template).database)


@pytest.fixture
def city_engine(city_template, tmp_path, postgres):
    """A fresh copy of the reference city for one test."""
    url = copy_city(city_template, tmp_path, postgres)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    if postgres is not None:
        postgres.drop(url)


@pytest.fixture
def city_session(city_engine):
    with make_session_factory(city_engine)() as session:
        yield session
