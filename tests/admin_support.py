"""Fixtures and helpers shared by tests/test_admin_*.py (import the fixtures by name).

`api` (tests/api_support.py) is the real app on a fresh copy of the reference city and the
real redis-server. The city's seeded `admin` manages the whole city; `town_admin` is an
admin of 南城街道 (441900004) made here through accounts.create_user, as the CLI does.
Handlers run in an app context, as a callback does, with the actor a login would give.
"""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from dashboard.admin.audit import take_snapshot
from dashboard.auth.accounts import create_user, get_staff
from models.actor import Actor
from models.area import Area
from models.db import make_session_factory
from models.org import AdminChange, Staff
from tests.api_support import api  # noqa: F401  (fixture)

TOWN, OTHER_TOWN, VILLAGE = "441900004", "441900003", "441900004002"
TOWN_ADMIN = "town-admin-4"
PASSWORD = "a-new-password-1"


@pytest.fixture
def town_admin(api) -> str:  # noqa: F811
    with sessions(api)() as session:
        create_user(session, TOWN_ADMIN, role="admin", area_code=TOWN, password=PASSWORD, name="南城管理员")
        session.commit()
    return TOWN_ADMIN


def sessions(api):  # noqa: F811
    return api.server.extensions["grid"].sessions


def actor(api, username: str) -> Actor:  # noqa: F811
    with sessions(api)() as session:
        return Actor.from_staff(get_staff(session, username))


@contextmanager
def in_request(api):  # noqa: F811
    """What one callback gets: an app context with its own SQL session (closed at the end)."""
    with api.server.app_context():
        yield


def area_id(api, code: str) -> int:  # noqa: F811
    with sessions(api)() as session:
        found = session.scalar(select(Area.id).where(Area.code == code))
    assert found is not None, f"the reference city has no area {code}"
    return found


def staff_snapshot(api, username: str) -> dict:  # noqa: F811
    """The user as the edit form loads them ("as loaded")."""
    with sessions(api)() as session:
        return take_snapshot(get_staff(session, username))


def read_staff(api, username: str) -> Staff:  # noqa: F811
    with sessions(api)() as session:
        staff = get_staff(session, username)
        session.expunge(staff)
        return staff


def count(engine_or_api, model) -> int:
    factory = sessions(engine_or_api) if hasattr(engine_or_api, "server") else make_session_factory(engine_or_api)
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def list_audit(api) -> list[AdminChange]:  # noqa: F811
    with sessions(api)() as session:
        rows = list(session.scalars(select(AdminChange).order_by(AdminChange.id)))
        session.expunge_all()
        return rows


def dump_table(api, model) -> list[tuple]:  # noqa: F811
    """Every row of a table as tuples of its columns: to show a refused change wrote nothing."""
    with sessions(api)() as session:
        columns = [c for c in model.__table__.columns]
        return [tuple(row) for row in session.execute(select(*columns).order_by(columns[0]))]
