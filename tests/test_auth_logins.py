"""Logins held in SQL with a short-lived copy in Redis (dashboard/auth/logins.py): logging in
and working with Redis stopped, logout with and without Redis, no SQL on a copy hit,
end_all_logins, and expired or idle logins refused. Real app, real redis-servers (a private
one where a test stops it), a copy of the reference city. Time moves by backdating rows or
by the functions' `now=`, never by sleeping."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from dashboard.app import dispose
from dashboard.auth import logins
from dashboard.auth.login import OUTAGE, load_user
from dashboard.auth.logins import COPY_TTL, IDLE, REMEMBER, SEEN_EVERY, end_all_logins
from dashboard.console import ids as console_ids
from models.actor import Actor
from models.org import Staff, StaffLogin
from models.types import utcnow
from tests.api_support import (  # noqa: F401  (fixtures)
    api,
    client,
    login_client,
    make_api,
    read_csrf_field,
)
from tests.test_auth_csrf import open_page
from workers import keys
from workers.embedded_redis import EmbeddedRedis

pytestmark = pytest.mark.filterwarnings(
    r"ignore:\s*The dash_table\.DataTable will be removed:DeprecationWarning")

LEAD, OPERATOR = "441900004-shiftlead-1", "441900004-operator-1"


# ---------------------------------------------------------------- helpers

def services_of(app):
    return app.server.extensions["grid"]


def me(client):
    return client.get("/api/v1/me")


def logins_of(app, username: str) -> list[StaffLogin]:
    """This person's login rows, oldest first."""
    with services_of(app).sessions() as session:
        return list(session.scalars(select(StaffLogin).join(Staff, Staff.id == StaffLogin.staff_id)
                                    .where(Staff.username == username).order_by(StaffLogin.created_at)))


def only_login(app, username: str) -> StaffLogin:
    rows = logins_of(app, username)
    assert len(rows) == 1, f"{username} should have one login, has {len(rows)}"
    return rows[0]


def copy_key(login: StaffLogin) -> str:
    return keys.LOGIN.format(login_id=login.id)


def logout(client, headers: dict):
    token = read_csrf_field(client.get("/login").get_data(as_text=True))
    answer = client.post("/logout", data={"csrf_token": token}, headers=headers)
    assert answer.status_code == 303, answer.status_code
    return answer


def backdate(app, login_id: str, **columns) -> None:
    with services_of(app).sessions() as session:
        session.execute(update(StaffLogin).where(StaffLogin.id == login_id).values(**columns))
        session.commit()


@contextmanager
def counting_sql(app):
    """Every statement the app's engine sends while the block runs (observed, not changed)."""
    engine, seen = services_of(app).sessions.kw["bind"], []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def load(app, login: StaffLogin):
    """What Flask-Login's loader makes of this login's cookie id, in a request."""
    with app.server.test_request_context("/"):
        return load_user(f"{login.staff_id}:{login.id}")


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server for one test, to stop (and start again on the same port)."""
    server = EmbeddedRedis(tmp_path / "own-redis", persist=False).start()
    yield server
    server.stop()


@pytest.fixture
def own_app(city_engine, own_redis):
    made = make_api(city_engine, own_redis.url)
    yield made
    dispose(made)


# ---------------------------------------------------------------- Redis stopped

def test_logging_in_and_using_the_console_work_while_redis_is_stopped(own_app, own_redis, caplog):
    caplog.set_level(logging.WARNING, logger="dashboard.auth.logins")
    own_app.server.extensions[OUTAGE] = logins.OutageNotice(every=10 ** 6)  # once for this test
    own_redis.stop()
    client = own_app.server.test_client()
    headers = login_client(client, LEAD)
    body = me(client).get_json()
    assert body and body["actor"]["role"] == "shift_lead" and body["actor"]["area_code"] == "441900004"
    row = only_login(own_app, LEAD)
    assert row.ended_at is None and not row.remember, "the login is recorded in SQL"
    shell = client.get("/console")
    assert shell.status_code == 200, f"/console answered {shell.status_code} {shell.headers.get('Location')}"
    page = client.post("/_dash-update-component", json=open_page(own_app, "/console"), headers=headers)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    text = page.get_data(as_text=True)
    assert console_ids.ROOT in text and "auth-login" not in text and "auth-forbidden" not in text
    said = [r for r in caplog.records if r.getMessage().startswith("Redis unreachable")]
    assert len(said) == 1, f"one warning for the outage, not one per request: {len(said)}"


def test_logout_while_redis_is_stopped_ends_the_login_in_sql(own_app, own_redis):
    client = own_app.server.test_client()
    headers = login_client(client, OPERATOR, remember=True)
    old_session = client.get_cookie("session").value
    old_remember = client.get_cookie("remember_token").value
    assert own_app.server.extensions["grid"].redis.exists(copy_key(only_login(own_app, OPERATOR)))
    own_redis.stop()
    logout(client, headers)
    assert only_login(own_app, OPERATOR).ended_at is not None, "SQL says the login ended"
    assert me(client).status_code == 401
    for name, value in (("session", old_session), ("remember_token", old_remember)):
        replay = own_app.server.test_client()
        replay.set_cookie(name, value)
        assert me(replay).status_code == 401, f"the old {name} cookie works after a logout without Redis"


def test_a_login_made_while_redis_was_down_gets_its_copy_when_redis_is_back(own_app, own_redis):
    own_redis.stop()
    client = own_app.server.test_client()
    login_client(client, OPERATOR)
    own_redis.start()
    assert me(client).status_code == 200
    row = only_login(own_app, OPERATOR)
    redis = services_of(own_app).redis
    assert 0 < redis.ttl(copy_key(row)) <= COPY_TTL.total_seconds(), "the next request wrote the copy"
    with counting_sql(own_app) as seen:
        assert load(own_app, row) is not None
    assert seen == [], "with the copy back, no SQL"


# ---------------------------------------------------------------- the copy

def test_a_copy_hit_asks_sql_nothing_and_holds_the_whole_snapshot(api, client):
    login_client(client, LEAD)
    row, redis = only_login(api, LEAD), services_of(api).redis
    with services_of(api).sessions() as session:
        expected = Actor.from_staff(session.get(Staff, row.staff_id))
    with counting_sql(api) as seen:
        user = load(api, row)
    assert seen == [], f"a copy hit sent SQL: {seen}"
    assert user.actor == expected and user.username == LEAD and user.login_id == row.id
    assert user.fingerprint == row.fingerprint and user.remember is False
    with counting_sql(api) as seen:
        assert me(client).status_code == 200
    assert not [s for s in seen if "staff_login" in s], "a page request asked SQL about the login"

    redis.delete(copy_key(row))  # the copy expired
    with counting_sql(api) as seen:
        assert load(api, row).actor == expected
    assert any("staff_login" in s for s in seen), "a miss must check SQL"
    assert 0 < redis.ttl(copy_key(row)) <= COPY_TTL.total_seconds(), "and write the copy again"
    with counting_sql(api) as seen:
        load(api, row)
    assert seen == []


def test_an_unreadable_copy_is_a_miss_and_sql_decides(api, client):
    login_client(client, OPERATOR)
    row, redis = only_login(api, OPERATOR), services_of(api).redis
    redis.set(copy_key(row), f"{row.staff_id}:{row.fingerprint}")  # the old format
    assert me(client).status_code == 200
    assert logins.decode_copy(redis.get(copy_key(row)), row.id) is not None, "rewritten as a copy"


def test_logout_deletes_the_copy_and_ends_the_login_in_sql(api, client):
    headers = login_client(client, LEAD)
    row, redis = only_login(api, LEAD), services_of(api).redis
    assert redis.exists(copy_key(row))
    logout(client, headers)
    assert not redis.exists(copy_key(row)), "the copy outlived the logout"
    assert only_login(api, LEAD).ended_at is not None
    assert load(api, row) is None


def test_a_change_made_by_hand_in_sql_shows_when_the_copy_expires(api, client):
    """Without end_all_logins (see logins.py): within COPY_TTL, not at once."""
    login_client(client, LEAD)
    row = only_login(api, LEAD)
    with services_of(api).sessions() as session:
        session.get(Staff, row.staff_id).password_hash = "$argon2id$rewritten-by-hand"
        session.commit()
    assert me(client).status_code == 200, "the copy is trusted until it expires"
    services_of(api).redis.delete(copy_key(row))
    assert me(client).status_code == 401, "SQL refuses a login whose password changed"


# ---------------------------------------------------------------- end_all_logins

def test_end_all_logins_ends_every_login_of_one_person_and_no_one_elses(api):
    wall, desk, other = (api.server.test_client() for _ in range(3))
    login_client(wall, OPERATOR, remember=True)
    login_client(desk, OPERATOR)
    login_client(other, LEAD)
    mine, theirs = logins_of(api, OPERATOR), only_login(api, LEAD)
    redis = services_of(api).redis
    with services_of(api).sessions() as session:
        assert end_all_logins(session, redis, mine[0].staff_id) == 2
        assert all(redis.exists(copy_key(row)) for row in mine), "copies stay until the commit"
        session.commit()
    assert not any(redis.exists(copy_key(row)) for row in mine), "copies deleted after the commit"
    assert redis.exists(copy_key(theirs))
    assert me(wall).status_code == me(desk).status_code == 401
    assert me(other).status_code == 200
    assert all(row.ended_at is not None for row in logins_of(api, OPERATOR))
    assert only_login(api, LEAD).ended_at is None
    with services_of(api).sessions() as session:
        assert end_all_logins(session, redis, mine[0].staff_id) == 0


def test_end_all_logins_rolled_back_ends_nothing(api, client):
    login_client(client, OPERATOR)
    row = only_login(api, OPERATOR)
    with services_of(api).sessions() as session:
        assert end_all_logins(session, None, row.staff_id) == 1
        session.rollback()
    assert only_login(api, OPERATOR).ended_at is None
    assert me(client).status_code == 200


# ---------------------------------------------------------------- expiry

def test_an_idle_login_ends_after_12_hours_and_a_remembered_one_after_30_days(api):
    idle, recent, old_wall, new_wall = (api.server.test_client() for _ in range(4))
    login_client(idle, OPERATOR)
    login_client(recent, LEAD)
    login_client(old_wall, "441900004-leader-1", remember=True)
    login_client(new_wall, "admin", remember=True)
    now, redis = utcnow(), services_of(api).redis
    moves = {OPERATOR: {"last_seen_at": now - IDLE - timedelta(minutes=1)},
             LEAD: {"last_seen_at": now - IDLE + timedelta(hours=1)},
             "441900004-leader-1": {"created_at": now - REMEMBER - timedelta(minutes=1)},
             "admin": {"created_at": now - REMEMBER + timedelta(minutes=2)}}
    for username, columns in moves.items():
        row = only_login(api, username)
        backdate(api, row.id, **columns)
        redis.delete(copy_key(row))  # as if the copy had expired meanwhile
    assert me(idle).status_code == 401, "12 idle hours end a login"
    assert me(old_wall).status_code == 401, "a remembered login ends after 30 days"
    assert me(recent).status_code == 200
    assert only_login(api, LEAD).last_seen_at > now - timedelta(hours=1), "seen again"
    assert me(new_wall).status_code == 200
    assert 0 < redis.ttl(copy_key(only_login(api, "admin"))) <= 120, "a copy never outlives its login"


def test_check_login_refuses_at_the_limits_and_notes_activity_once_per_copy(api, client):
    login_client(client, OPERATOR)
    row = only_login(api, OPERATOR)
    made = row.created_at

    def check(at):
        with services_of(api).sessions() as session, counting_sql(api) as seen:
            found = logins.check_login(session, row.staff_id, row.id, now=at)
        return found, [s for s in seen if s.lstrip().upper().startswith("UPDATE")]

    found, writes = check(made + SEEN_EVERY / 2)
    assert found is not None and writes == [], "seen too recently to write again"
    assert found[1] == COPY_TTL
    found, writes = check(made + SEEN_EVERY)
    assert found is not None and len(writes) == 1
    assert only_login(api, OPERATOR).last_seen_at == made + SEEN_EVERY
    assert check(made + SEEN_EVERY + IDLE - timedelta(seconds=1))[0] is not None
    assert check(made + SEEN_EVERY + IDLE + IDLE)[0] is None
    with services_of(api).sessions() as session:
        assert logins.check_login(session, row.staff_id + 1, row.id) is None, "another person's id"


def test_the_outage_warning_is_said_at_most_once_a_minute(caplog):
    caplog.set_level(logging.WARNING, logger="dashboard.auth.logins")
    notice, error = logins.OutageNotice(every=60), ConnectionError("refused")
    said = [notice.warn(error, at=t) for t in (0.0, 1.0, 59.9, 60.0, 61.0, 130.0)]
    assert said == [True, False, False, True, False, True]
    assert len([r for r in caplog.records if "Redis unreachable" in r.getMessage()]) == 3
