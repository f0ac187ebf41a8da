"""Login rate limits (Flask-Limiter, counters in the real Redis): repeated bad passwords
are slowed by a 429 that answers before the password is looked at."""
from __future__ import annotations

from sqlalchemy import select

from dashboard.app import dispose
from dashboard.auth.guard import LOGIN_LIMITS
from models.db import make_session_factory
from models.org import Staff
from tests.api_support import (  # noqa: F401 (fixtures)
    DEMO_PASSWORD,
    api,
    client,
    make_api,
    read_csrf_field,
)
from workers import keys


def attempt(client, username: str, password: str, address: str = "10.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    token = read_csrf_field(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post("/login", environ_base=environ,
                       data={"csrf_token": token, "username": username, "password": password})


def last_login(engine, username: str):
    with make_session_factory(engine)() as session:
        return session.scalar(select(Staff.last_login_at).where(Staff.username == username))


def test_the_sixth_bad_password_in_a_minute_is_not_even_checked(api, client, city_engine, redis):
    for n in range(5):
        assert attempt(client, "city-shiftlead-1", f"wrong-{n}").status_code == 401
    limited = attempt(client, "city-shiftlead-1", DEMO_PASSWORD)  # the right one, too late
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert "登录尝试过于频繁" in limited.get_data(as_text=True)
    assert last_login(city_engine, "city-shiftlead-1") is None, "the password was not checked"
    assert client.get("/api/v1/me").status_code == 401
    assert any(redis.scan_iter(f"*{keys.RATELIMIT_PREFIX}/*")), "counted in Redis (all workers share it)"


def test_the_limit_is_per_username_and_address(api, client, city_engine):
    for n in range(5):
        attempt(client, "city-shiftlead-1", f"wrong-{n}")
    assert attempt(client, "city-leader-1", DEMO_PASSWORD).status_code == 303, "another user"
    assert attempt(client, "city-shiftlead-1", DEMO_PASSWORD, address="10.0.0.2").status_code == 303


def test_successful_logins_are_not_counted_as_failures(api, client):
    for _ in range(6):
        assert attempt(client, "admin", DEMO_PASSWORD).status_code == 303


def test_one_address_guessing_many_usernames_is_stopped_too(api, client):
    answers = [attempt(client, f"guess-{n}", "wrong").status_code for n in range(21)]
    assert answers[:20] == [401] * 20 and answers[20] == 429
    assert attempt(client, "admin", DEMO_PASSWORD).status_code == 429
    assert attempt(client, "admin", DEMO_PASSWORD, address="10.0.0.9").status_code == 303


def test_every_attempt_counts_against_a_ceiling_per_address(city_engine, redis_server, redis):
    """Failures are counted after the answer, so parallel attempts could pass the failure
    limits together; the ceiling counts before, whatever the outcome. (A lower ceiling than
    the default 60 a minute, so the test makes few argon2 checks.)"""
    app = make_api(city_engine, redis_server.url, LOGIN_LIMIT_CEILING="4 per minute")
    try:
        client = app.server.test_client()
        codes = [attempt(client, "admin", DEMO_PASSWORD, address="10.0.0.3").status_code for _ in range(5)]
    finally:
        dispose(app)
    assert codes == [303] * 4 + [429]


def test_the_default_limits_are_the_documented_ones():
    assert LOGIN_LIMITS == {"LOGIN_LIMIT_USERNAME": "5 per minute", "LOGIN_LIMIT_ADDRESS": "20 per minute",
                            "LOGIN_LIMIT_CEILING": "60 per minute"}
