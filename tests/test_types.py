"""UTCDateTime on a real database, and the strict environment helpers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from models import settings
from models.settings import SettingsError, database_url, env_int, redis_url
from models.types import UTCDateTime

PLUS_EIGHT = timezone(timedelta(hours=8))

metadata = MetaData()
moments = Table("test_moment", metadata,
                Column("id", Integer, primary_key=True), Column("at", UTCDateTime))


@pytest.fixture
def moment_table(engine):
    metadata.create_all(engine)
    return moments


# ---------------------------------------------------------------- UTCDateTime

def test_it_stores_an_aware_datetime_as_the_same_instant_in_utc(session, moment_table):
    written = datetime(2026, 11, 2, 9, 30, 15, tzinfo=PLUS_EIGHT)
    session.execute(insert(moment_table).values(id=1, at=written))
    session.commit()

    read = session.scalar(select(moment_table.c.at).where(moment_table.c.id == 1))

    assert read == written
    assert read.tzinfo is timezone.utc
    assert (read.day, read.hour, read.minute, read.second) == (2, 1, 30, 15)


def test_it_compares_stored_instants_in_sql_whatever_their_offset(session, moment_table):
    # Stored as UTC, an 09:00+08:00 value sorts before 02:00 UTC: order follows the instant.
    session.execute(insert(moment_table), [
        {"id": 1, "at": datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc)},
        {"id": 2, "at": datetime(2026, 11, 2, 9, 0, tzinfo=PLUS_EIGHT)},
    ])
    session.commit()

    order = session.scalars(select(moment_table.c.id).order_by(moment_table.c.at)).all()
    later = session.scalars(select(moment_table.c.id).where(
        moment_table.c.at > datetime(2026, 11, 2, 9, 30, tzinfo=PLUS_EIGHT))).all()

    assert order == [2, 1]
    assert later == [1]


def test_it_refuses_a_naive_datetime(session, moment_table):
    with pytest.raises(StatementError) as raised:
        session.execute(insert(moment_table).values(id=1, at=datetime(2026, 11, 2, 9, 0)))
    assert isinstance(raised.value.orig, ValueError)
    assert "naive datetime" in str(raised.value.orig)


# ---------------------------------------------------------------- settings

def test_it_reads_an_integer_setting(monkeypatch):
    monkeypatch.setenv("GRID_TEST_NUMBER", " 12 ")
    assert env_int("GRID_TEST_NUMBER", 5, minimum=1) == 12
    monkeypatch.delenv("GRID_TEST_NUMBER")
    assert env_int("GRID_TEST_NUMBER", 5, minimum=1) == 5


def test_it_refuses_an_integer_setting_that_is_not_a_number(monkeypatch):
    monkeypatch.setenv("GRID_TEST_NUMBER", "abc")
    with pytest.raises(SettingsError, match="GRID_TEST_NUMBER must be an integer"):
        env_int("GRID_TEST_NUMBER", 5)


def test_it_refuses_an_integer_setting_below_its_minimum(monkeypatch):
    monkeypatch.setenv("GRID_TEST_NUMBER", "0")
    with pytest.raises(SettingsError, match="GRID_TEST_NUMBER must be >= 1"):
        env_int("GRID_TEST_NUMBER", 5, minimum=1)


def test_it_refuses_a_database_it_does_not_support(monkeypatch, tmp_path):
    monkeypatch.setenv("GRID_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "mysql://grid:secret@localhost/grid")
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        database_url()


def test_it_defaults_to_sqlite_in_the_var_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GRID_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url() == f"sqlite:///{tmp_path / 'grid.sqlite3'}"


def test_it_says_to_use_run_sh_when_there_is_no_redis(monkeypatch, tmp_path):
    monkeypatch.setenv("GRID_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(SettingsError, match="run.sh"):
        redis_url()


def test_it_finds_the_embedded_redis_from_its_state_file(monkeypatch, tmp_path):
    monkeypatch.setenv("GRID_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    state = settings.embedded_redis_state()
    state.parent.mkdir(parents=True)
    state.write_text('{"url": "redis://127.0.0.1:6399/0"}')
    assert redis_url() == "redis://127.0.0.1:6399/0"
