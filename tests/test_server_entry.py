"""The WSGI entry point each gunicorn worker runs: dashboard.app:create_server()."""
from __future__ import annotations

import gc
import weakref
from types import SimpleNamespace

from sqlalchemy import select

from dashboard.app import create_server, dispose
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
