"""Logging in and out through the real routes: argon2id hashes, the generic failure, cookie
flags, "remember this screen", logout that really ends a login, no open redirects, and
each role's home page. Real app, real Redis, a copy of the reference city."""
from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select

from dashboard.auth.accounts import DEMO_USERNAMES, set_password
from dashboard.auth.logins import COPY_TTL, end_all_logins, get_expiry
from dashboard.auth.passwords import HASHER
from models.db import make_session_factory
from models.enums import Role
from models.org import Staff, StaffLogin
from tests.api_support import (  # noqa: F401  (fixtures)
    DEMO_PASSWORD,
    api,
    client,
    login_client,
    read_csrf_field,
)
from workers import keys


def cookies_set(answer) -> dict[str, str]:
    """{name: the whole Set-Cookie header} of a response."""
    found = {}
    for header in answer.headers.getlist("Set-Cookie"):
        found[next(iter(SimpleCookie(header)))] = header
    return found


def post_login(client, username: str, password: str, **extra):
    token = read_csrf_field(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password,
                                       **extra})


def same_page(answer, username: str) -> str:
    """The page with what legitimately differs (the name typed, the CSRF token) blanked."""
    text = answer.get_data(as_text=True)
    return text.replace(username, "USER").replace(read_csrf_field(text), "TOKEN")


def me(client):
    return client.get("/api/v1/me")


def staff_row(engine, username: str) -> Staff:
    with make_session_factory(engine)() as session:
        return session.scalar(select(Staff).where(Staff.username == username))


def test_it_stores_every_demo_password_as_argon2id_never_plain(city_engine):
    for username in DEMO_USERNAMES:
        stored = staff_row(city_engine, username).password_hash
        assert stored and stored.startswith("$argon2id$"), f"{username}: {stored!r}"
        assert DEMO_PASSWORD not in stored
        assert HASHER.verify(stored, DEMO_PASSWORD)


def test_it_logs_in_with_the_right_password_and_knows_who_you_are(api, client, city_engine):
    assert me(client).status_code == 401
    answer = post_login(client, "441900004-shiftlead-1", DEMO_PASSWORD)
    assert answer.status_code == 303 and answer.headers["Location"] == "/console"
    body = me(client).get_json()
    assert body["via"] == "session"
    assert body["actor"]["role"] == "shift_lead" and body["actor"]["area_code"] == "441900004"
    assert staff_row(city_engine, "441900004-shiftlead-1").last_login_at is not None


def test_it_refuses_a_wrong_password_and_an_unknown_user_alike(api, client):
    wrong = post_login(client, "city-operator-1", "not-the-password")
    nobody = post_login(client, "no-such-user", "not-the-password")
    assert wrong.status_code == nobody.status_code == 401
    for answer in (wrong, nobody):
        text = answer.get_data(as_text=True)
        assert "用户名或密码不正确" in text
        assert 'id="login-error"' in text
    assert same_page(wrong, "city-operator-1") == same_page(nobody, "no-such-user"), \
        "the answer must not tell whether the user exists"
    assert me(client).status_code == 401


@pytest.mark.parametrize("role", [Role.GRID_WORKER, Role.HANDLER])
def test_it_lets_only_centre_roles_log_in(api, client, city_engine, role):
    """Grid workers and handlers use personal API tokens, not the centre's screens."""
    with make_session_factory(city_engine)() as session:
        row = session.scalar(select(Staff).where(Staff.role == role).order_by(Staff.id).limit(1))
        assert row is not None and row.username, f"the reference city has no {role}"
        set_password(session, row.username, DEMO_PASSWORD)
        session.commit()
        name = row.username
    assert post_login(client, name, DEMO_PASSWORD).status_code == 401


def test_the_session_cookie_is_httponly_and_samesite_and_remember_lasts_30_days(api, client):
    plain = post_login(client, "city-operator-1", DEMO_PASSWORD)
    session_cookie = cookies_set(plain)["session"]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Expires" not in session_cookie, "without 'remember' the login ends with the browser"
    assert "remember_token" not in cookies_set(plain)
    other = api.server.test_client()
    remembered = post_login(other, "city-operator-1", DEMO_PASSWORD, remember="1")
    cookie = cookies_set(remembered)["remember_token"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires" in cookie
    csrf = cookies_set(other.get("/login"))["_csrf_token"]
    assert "HttpOnly" not in csrf and "SameSite=Strict" in csrf, "Dash's script must read it"
    with api.server.extensions["grid"].sessions() as session:
        rows = list(session.scalars(select(StaffLogin).where(StaffLogin.remember.is_(True))))
    assert len(rows) == 1, "one remembered login, recorded on the server (in SQL)"
    assert get_expiry(rows[0]) - rows[0].created_at == timedelta(days=30)
    redis = api.server.extensions["grid"].redis
    copies = list(redis.scan_iter(keys.LOGIN.format(login_id="r*")))
    assert copies == [keys.LOGIN.format(login_id=rows[0].id)], "its short-lived copy in Redis"
    assert 0 < redis.ttl(copies[0]) <= COPY_TTL.total_seconds()


def test_a_remembered_screen_stays_logged_in_after_the_browser_closes(api, client):
    login_client(client, "city-operator-1", remember=True)
    client.delete_cookie("session")  # what closing the browser does to a session cookie
    assert me(client).get_json()["actor"]["role"] == "operator"


def test_logout_ends_the_login_even_for_a_copy_of_the_old_cookies(api, client):
    headers = login_client(client, "city-shiftlead-1", remember=True)
    old_session = client.get_cookie("session").value
    old_remember = client.get_cookie("remember_token").value
    token = read_csrf_field(client.get("/login").get_data(as_text=True))
    answer = client.post("/logout", data={"csrf_token": token}, headers=headers)
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    assert me(client).status_code == 401
    for name, value in (("session", old_session), ("remember_token", old_remember)):
        replay = api.server.test_client()
        replay.set_cookie(name, value)
        assert me(replay).status_code == 401, f"the old {name} cookie still works after logout"


def test_a_new_password_ends_every_login_of_that_person(api, client, city_engine):
    login_client(client, "city-leader-1")
    assert me(client).status_code == 200
    with make_session_factory(city_engine)() as session:
        set_password(session, "city-leader-1", "a-brand-new-password", api.server.extensions["grid"].redis)
        session.commit()
    assert me(client).status_code == 401
    with make_session_factory(city_engine)() as session:
        ended = session.scalars(select(StaffLogin.ended_at).join(Staff, Staff.id == StaffLogin.staff_id)
                                .where(Staff.username == "city-leader-1")).all()
    assert ended and None not in ended, "ended in SQL too"
    assert post_login(client, "city-leader-1", "a-brand-new-password").status_code == 303


def test_an_inactive_person_is_logged_out_and_cannot_log_in(api, client, city_engine):
    """Deactivated as the admin screen does it: with end_all_logins in the same commit."""
    login_client(client, "city-operator-1")
    with make_session_factory(city_engine)() as session:
        person = session.scalar(select(Staff).where(Staff.username == "city-operator-1"))
        person.active = False
        assert end_all_logins(session, api.server.extensions["grid"].redis, person.id) == 1
        session.commit()
    assert me(client).status_code == 401
    assert post_login(client, "city-operator-1", DEMO_PASSWORD).status_code == 401


def test_a_weaker_stored_hash_is_replaced_at_login(api, client, city_engine):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(DEMO_PASSWORD)
    with make_session_factory(city_engine)() as session:
        session.scalar(select(Staff).where(Staff.username == "city-operator-1")).password_hash = weak
        session.commit()
    assert post_login(client, "city-operator-1", DEMO_PASSWORD).status_code == 303
    stored = staff_row(city_engine, "city-operator-1").password_hash
    assert stored != weak and not HASHER.check_needs_rehash(stored)
    assert me(client).status_code == 200, "the login survives its own rehash"


@pytest.mark.parametrize(("username", "home"), [
    ("city-operator-1", "/wall"), ("441900004-operator-1", "/wall/town/441900004"),
    ("441900004002-operator-1", "/wall/village/441900004002"), ("441900003-shiftlead-1", "/console"),
    ("441900004-leader-1", "/metrics"), ("admin", "/admin"), ("441900004-admin-1", "/admin"),
])
def test_each_role_lands_on_its_home_page(api, client, username, home):
    assert post_login(client, username, DEMO_PASSWORD).headers["Location"] == home


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/wall", "/\\evil.example", "http:/evil.example",
    "javascript:alert(1)", "/wall\r\nLocation: https://evil.example", "/logout", "wall",
])
def test_it_refuses_to_redirect_anywhere_but_a_page_of_this_site(api, client, target):
    answer = post_login(client, "city-operator-1", DEMO_PASSWORD, next=target)
    assert answer.status_code == 303 and answer.headers["Location"] == "/wall"


def test_it_keeps_a_same_site_next_through_the_login_page(api, client):
    page = client.get("/login?next=/wall/town/441900004%3Flang%3Den").get_data(as_text=True)
    assert 'name="next" value="/wall/town/441900004?lang=en"' in page
    answer = post_login(client, "441900004-operator-1", DEMO_PASSWORD, next="/wall/town/441900004?lang=en")
    assert answer.headers["Location"] == "/wall/town/441900004?lang=en"


def test_an_anonymous_page_load_is_sent_to_the_login_page(api, client):
    answer = client.get("/wall/town/441900004?lang=en")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=/wall/town/441900004%3Flang%3Den&lang=en"
    assert client.get("/").status_code == 200, "the front page stays public"


def test_the_login_page_is_chinese_first_and_english_by_setting(api, client):
    zh = client.get("/login").get_data(as_text=True)
    en = client.get("/login?lang=en").get_data(as_text=True)
    assert '<html lang="zh-CN">' in zh and "用户名" in zh and "记住此屏幕" in zh
    assert '<html lang="en">' in en and "Username" in en and "Remember this screen" in en
    assert 'name="csrf_token"' in zh and "<script" not in zh


def test_the_login_page_shows_what_was_typed_as_text(api, client):
    answer = post_login(client, '<script>alert(1)</script>', "x")
    assert answer.status_code == 401
    assert "<script>alert" not in answer.get_data(as_text=True)
