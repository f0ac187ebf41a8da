"""The WSGI entry point each gunicorn worker runs: dashboard.app:create_server()."""
from __future__ import annotations

import gc
import weakref
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from dashboard.app import config_from_env, create_server, dispose
from dashboard.wall import geo
from models.area import Area
from tests.api_support import url_of


class Node:
    """Something a request might make and drop inside a reference cycle."""


def test_a_worker_warms_its_walls_then_sets_its_start_up_aside_from_the_gc(
        city_engine, redis_server, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", url_of(city_engine))
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("GRID_VAR_DIR", str(tmp_path))
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    server = create_server()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 10_000, f"start-up's objects are frozen out of the cyclic GC: {frozen}"
        with server.extensions["grid"].sessions() as session:
            city = session.scalar(select(Area.id).where(Area.level == "city"))
            bind = str(session.get_bind().url)
        assert (bind, city) in geo._maps, "the city's map was built before the first request"
        node = Node()
        node.me = node
        dropped = weakref.ref(node)
        del node
        gc.collect()
        assert dropped() is None, "what is made after start-up is still collected"
    finally:
        gc.unfreeze()
        dispose(SimpleNamespace(server=server))


@pytest.mark.parametrize("refresh, spread, expected", [
    (None, None, {}),
    ("05:30", None, {"WALL_REFRESH_AT": "05:30"}),
    ("off", "0", {"WALL_REFRESH_AT": None, "WALL_REFRESH_SPREAD_MIN": 0}),
    ("00:00", "120", {"WALL_REFRESH_AT": "00:00", "WALL_REFRESH_SPREAD_MIN": 120}),
])
def test_the_walls_daily_refresh_is_set_from_the_environment(monkeypatch, refresh, spread, expected):
    for name, value in (("WALL_REFRESH_AT", refresh), ("WALL_REFRESH_SPREAD_MIN", spread)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    found = config_from_env()
    assert {k: v for k, v in found.items() if k.startswith("WALL_REFRESH")} == expected


@pytest.mark.parametrize("name, value, says", [
    ("WALL_REFRESH_AT", "4:00", "HH:MM"),
    ("WALL_REFRESH_AT", "24:00", "HH:MM"),
    ("WALL_REFRESH_AT", "never", "or off"),
    ("WALL_REFRESH_SPREAD_MIN", "-1", ">= 0"),
    ("WALL_REFRESH_SPREAD_MIN", "121", "<= 120"),
    ("WALL_REFRESH_SPREAD_MIN", "ten", "integer"),
    ("WALL_SLOW_SECONDS", "0", ">= 1"),
])
def test_a_bad_wall_setting_stops_the_program_and_names_itself(monkeypatch, name, value, says):
    from models.settings import SettingsError
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name) as raised:
        config_from_env()
    assert says in str(raised.value) and value in str(raised.value), str(raised.value)


def test_how_often_a_wall_checks_its_slow_panels_is_set_from_the_environment(monkeypatch):
    monkeypatch.delenv("WALL_SLOW_SECONDS", raising=False)
    assert "WALL_SLOW_SECONDS" not in config_from_env(), "unset: the default (60) applies"
    monkeypatch.setenv("WALL_SLOW_SECONDS", "15")
    assert config_from_env()["WALL_SLOW_SECONDS"] == 15
