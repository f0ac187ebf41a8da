"""Fixtures and helpers shared by the tests/test_api_*.py files (import the fixtures by name).

`api` is the real app (create_app) on a fresh copy of the reference city and the real
redis-server; `client` is Flask's test client; `token` an API token stored as its hash.
`login_client(client, username)` logs the test client in through the real login form
(the demo accounts' password is DEMO_PASSWORD) and returns the X-CSRFToken header its
writes need; `logged_in_request(api, username)` is a request context with that person
logged in, for calling layout functions directly.
`written(api)` takes a snapshot of everything a request could write: incident and event
counts and the newest event id in SQL, and every Redis key with its serialised value.
"""
from __future__ import annotations

import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import redis as redis_lib
from flask_login import login_user
from sqlalchemy import func, select

from dashboard.app import create_app, dispose
from dashboard.auth.accounts import DEMO_PASSWORD, get_staff
from dashboard.auth.logins import start_login
from models import Incident, IncidentEvent
from models.db import make_session_factory
from models.token import create_token, revoke_tokens

GRID = "441900004002001"           # a grid of the reference city
POINT = {"lon": 113.75, "lat": 23.02}  # a point inside that grid
OUTSIDE = {"lon": 116.40, "lat": 39.90}  # Beijing: outside every grid


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def make_api(engine, redis_url: str, **config):
    settings = {"LIVE_PUBLISH": "sync", "API_TOKEN_CACHE_SECONDS": 0,
                "SECRET_KEY": secrets.token_hex(32), **config}
    return create_app(database_url=url_of(engine), redis_url=redis_url, config=settings)


@pytest.fixture
def api(city_engine, redis_server, redis):
    app = make_api(city_engine, redis_server.url)
    yield app
    dispose(app)


@pytest.fixture
def client(api):
    return api.server.test_client()


def make_token(engine, name: str = "field-app", *, user: str | None = None) -> str:
    """An API token; with `user` (a username) it acts as that person."""
    with make_session_factory(engine)() as session:
        token = create_token(session, name, staff_id=user and get_staff(session, user).id)
        session.commit()
    return token


def read_csrf_field(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no csrf_token field"
    return found.group(1)


def login_client(client, username: str, password: str = DEMO_PASSWORD, *, remember: bool = False) -> dict:
    """Log in through GET and POST /login as a browser would; returns {"X-CSRFToken": ...}
    for the session's writes (read from the cookie an HTML page sets, as Dash does)."""
    token = read_csrf_field(client.get("/login").get_data(as_text=True))
    form = {"csrf_token": token, "username": username, "password": password}
    answer = client.post("/login", data={**form, **({"remember": "1"} if remember else {})})
    assert answer.status_code == 303, f"login as {username} answered {answer.status_code}"
    client.get("/login")
    return {"X-CSRFToken": client.get_cookie("_csrf_token").value}


@contextmanager
def logged_in_request(api, username: str, path: str = "/"):
    """A request context in which `username` is logged in (a real login: its row in SQL,
    its copy in Redis)."""
    services = api.server.extensions["grid"]
    with services.sessions() as session:
        user = start_login(session, services.redis, get_staff(session, username), remember=False,
                           lock=services.write_lock)
    with api.server.test_request_context(path):
        login_user(user)
        yield user.actor


def revoke_token(engine, name: str) -> None:
    with make_session_factory(engine)() as session:
        revoke_tokens(session, name)
        session.commit()


@pytest.fixture
def token(city_engine) -> str:
    return make_token(city_engine)


@pytest.fixture
def auth(token) -> dict:
    return {"Authorization": f"Bearer {token}"}


def make_report(**overrides) -> dict:
    body = {"item_code": "14-01", "grid_code": GRID, "description": "楼道堆放杂物，堵塞消防通道",
            "channel": "grid_worker"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@dataclass(frozen=True)
class Written:
    incidents: int
    events: int
    last_event: int | None
    redis: tuple

    def __str__(self) -> str:
        return f"{self.incidents} incidents, {self.events} events, {len(self.redis)} Redis keys"


def written(api) -> Written:
    services = api.server.extensions["grid"]
    assert services.publisher.wait_idle(10)
    with services.sessions() as session:
        counts = [session.scalar(select(func.count()).select_from(m)) for m in (Incident, IncidentEvent)]
        last = session.scalar(select(func.max(IncidentEvent.id)))
    with redis_lib.Redis.from_url(_url(services.redis)) as raw:  # bytes: DUMP is binary
        state = tuple(sorted((key, raw.dump(key)) for key in raw.scan_iter(count=1000)))
    return Written(counts[0], counts[1], last, state)


def _url(client: redis_lib.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


def post_report(client, auth, **overrides):
    return client.post("/api/v1/incidents", json=make_report(**overrides), headers=auth)


def act(client, auth, incident_id: int, action: str, **body):
    return client.post(f"/api/v1/incidents/{incident_id}/actions/{action}", json=body, headers=auth)
