"""The account commands, run as real subprocesses: create-user, set-password,
create-token --user, and the demo passwords `seed ensure` sets."""
from __future__ import annotations

import getpass
import os
import subprocess
import sys

from sqlalchemy import select

from dashboard import __main__ as cli
from dashboard.auth.passwords import HASHER
from models.db import make_engine, make_session_factory
from models.org import Staff, StaffLogin
from models.token import ApiToken
from tests.api_support import api, client, login_client  # noqa: F401  (fixtures)
from tests.conftest import REPO


def run(args: list[str], url: str, tmp_path, stdin: str = "", **env) -> subprocess.CompletedProcess:
    environ = {**os.environ, "DATABASE_URL": url, "GRID_VAR_DIR": str(tmp_path), **env}
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=environ, input=stdin,
                          capture_output=True, text=True, timeout=300, check=False)


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def staff(engine, username: str) -> Staff | None:
    with make_session_factory(engine)() as session:
        return session.scalar(select(Staff).where(Staff.username == username))


def test_create_user_makes_a_person_who_can_log_in(api, client, city_engine, tmp_path):
    made = run(["dashboard", "create-user", "Zhang.Wei", "--role", "shift_lead", "--area", "441900004",
                "--name", "张伟", "--password-stdin"], url_of(city_engine), tmp_path, "correct horse battery\n")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "created zhang.wei (shift_lead, area 441900004)"
    row = staff(city_engine, "zhang.wei")
    assert row.name == "张伟" and row.password_hash.startswith("$argon2id$")
    assert "correct horse" not in row.password_hash
    login_client(client, "zhang.wei", "correct horse battery")
    assert client.get("/api/v1/me").get_json()["actor"]["area_code"] == "441900004"


def test_create_user_refuses_what_it_cannot_use(city_engine, tmp_path):
    url = url_of(city_engine)
    for label, args, password, message in [
        ("taken", ["admin", "--role", "admin", "--area", "441900"], "long enough", "is taken"),
        ("grid", ["x1", "--role", "operator", "--area", "441900004002001"], "long enough",
         "city, town or village"),
        ("short", ["x2", "--role", "operator", "--area", "441900"], "short", "at least 8"),
        ("name", ["白", "--role", "operator", "--area", "441900"], "long enough", "a-z, 0-9"),
    ]:
        answer = run(["dashboard", "create-user", *args, "--password-stdin"], url, tmp_path, password + "\n")
        assert answer.returncode == 1 and message in answer.stderr, (label, answer.stderr)
    assert staff(city_engine, "x1") is None and staff(city_engine, "x2") is None


def test_set_password_replaces_the_hash(city_engine, tmp_path):
    before = staff(city_engine, "city-operator-1").password_hash
    answer = run(["dashboard", "set-password", "city-operator-1", "--password-stdin"], url_of(city_engine),
                 tmp_path, "another-password\n")
    assert answer.returncode == 0, answer.stderr
    after = staff(city_engine, "city-operator-1").password_hash
    assert after != before and HASHER.verify(after, "another-password")
    missing = run(["dashboard", "set-password", "nobody", "--password-stdin"], url_of(city_engine),
                  tmp_path, "another-password\n")
    assert missing.returncode == 1 and "no user named 'nobody'" in missing.stderr


def test_set_password_ends_that_persons_logins_at_once(api, client, city_engine, redis_server, tmp_path):
    """In SQL with the commit, and their Redis copies deleted (not left to expire)."""
    login_client(client, "city-operator-1")
    assert client.get("/api/v1/me").status_code == 200
    answer = run(["dashboard", "set-password", "city-operator-1", "--password-stdin"], url_of(city_engine),
                 tmp_path, "another-password\n", REDIS_URL=redis_server.url)
    assert answer.returncode == 0, answer.stderr
    assert client.get("/api/v1/me").status_code == 401
    with make_session_factory(city_engine)() as session:
        ended = session.scalars(select(StaffLogin.ended_at).join(Staff, Staff.id == StaffLogin.staff_id)
                                .where(Staff.username == "city-operator-1")).all()
    assert ended and None not in ended


def test_set_password_without_redis_still_ends_the_logins_in_sql(api, client, city_engine, tmp_path):
    login_client(client, "city-operator-1")
    answer = run(["dashboard", "set-password", "city-operator-1", "--password-stdin"], url_of(city_engine),
                 tmp_path, "another-password\n", REDIS_URL="")
    assert answer.returncode == 0, answer.stderr
    assert "no Redis to reach" in answer.stderr
    with make_session_factory(city_engine)() as session:
        ended = session.scalars(select(StaffLogin.ended_at).join(Staff, Staff.id == StaffLogin.staff_id)
                                .where(Staff.username == "city-operator-1")).all()
    assert ended and None not in ended


def test_create_token_binds_a_token_to_a_person(api, client, city_engine, tmp_path):
    answer = run(["dashboard", "create-token", "lead-phone", "--user", "441900003-shiftlead-1"],
                 url_of(city_engine), tmp_path)
    assert answer.returncode == 0, answer.stderr
    token = answer.stdout.strip()
    with make_session_factory(city_engine)() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == "lead-phone"))
        lead = session.scalar(select(Staff.id).where(Staff.username == "441900003-shiftlead-1"))
        assert row.staff_id == lead
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["actor"]["role"] == "shift_lead" and me["actor"]["area_code"] == "441900003"
    unknown = run(["dashboard", "create-token", "x", "--user", "nobody"], url_of(city_engine), tmp_path)
    assert unknown.returncode == 1 and "nobody" in unknown.stderr


def test_the_password_prompt_asks_twice_and_refuses_a_mismatch(monkeypatch, capsys):
    answers = iter(["first-password", "other-password"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))  # the terminal
    assert cli.read_password(False) is None
    assert "differ" in capsys.readouterr().err
    answers = iter(["same-password", "same-password"])
    assert cli.read_password(False) == "same-password"


def test_seed_ensure_gives_the_demo_accounts_grid_demo_password_once(db_url, tmp_path):
    first = run(["seed", "--quiet", "ensure"], db_url, tmp_path, GRID_DEMO_PASSWORD="my-own-demo-pw")
    assert first.returncode == 0, first.stderr
    engine = make_engine(db_url)
    try:
        admin = staff(engine, "admin").password_hash
        assert HASHER.verify(admin, "my-own-demo-pw")
        assert staff(engine, "441900004002-leader-1").password_hash is not None
        assert staff(engine, "441900005-leader-1").password_hash is None, "only the listed demo accounts"
        again = run(["seed", "--quiet", "ensure"], db_url, tmp_path, GRID_DEMO_PASSWORD="changed")
        assert again.returncode == 0, again.stderr
        assert staff(engine, "admin").password_hash == admin, "a password once set is kept"
    finally:
        engine.dispose()
