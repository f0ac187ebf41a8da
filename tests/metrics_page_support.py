"""Shared by the metrics page tests: one generated history, computed by workers.metrics.

Four local days (29 October – 1 November 2026) of closed-loop history at 400 reports a day
on a copy of the reference city, with every day's metric rows written by the backfill.
Tests only read it, so one copy serves a whole module.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dashboard.metrics_page.data import Period
from models import lifecycle
from models.actor import Actor
from models.area import Area
from models.db import make_engine, make_session_factory
from models.enums import Action, AreaLevel, Role
from seed.history import generate_history
from tests.conftest import copy_city
from tests.factories import T0, make_world
from workers import metrics

END = datetime(2026, 11, 1, 15, 59, 59, tzinfo=timezone.utc)  # 23:59:59 on 1 November, local
LAST = date(2026, 11, 1)
FIRST = LAST - timedelta(days=3)
TOWN = "441900004"          # 南城街道
OTHER_TOWN = "441900003"    # 东城街道
VILLAGE = "441900004002"    # 岭坑社区, in 南城街道


DAY = Period(date(2026, 11, 2), date(2026, 11, 2))  # tests/factories.py's T0 is 09:00 that day
OPS = Actor.system("metrics-page-test")


@dataclass
class History:
    sessions: sessionmaker[Session]
    url: str
    incidents: int


def build_history(city_template: str, folder, postgres) -> History:
    url = copy_city(city_template, folder, postgres, name="metrics-page")
    sessions = make_session_factory(make_engine(url))
    with sessions() as session:
        made = generate_history(session, days=4, per_day=400, seed=3, end=END, progress=False)
        metrics.backfill(session, FIRST, LAST)
    return History(sessions, url, made["incidents"])


def get_area(session: Session, code: str | None = None, level: AreaLevel | None = None) -> Area:
    query = select(Area).where(Area.code == code) if code else select(Area).where(Area.level == level)
    return session.scalars(query.order_by(Area.id)).first()


def make_leader(area: Area, role: Role = Role.LEADER) -> Actor:
    return Actor(role, f"{role}-{area.code}", 10_000 + area.id, area.id)


def close_case(session, world, grid: str, department: str, late: bool) -> None:
    """Report at T0 and go round the loop; a late case first breaches its accept limit."""
    start = 121 if late else 0
    incident = lifecycle.report(session, OPS, item_id=world.items["14-01"].id, now=T0,
                                area_id=world.areas[grid].id, description="测试", channel="app")
    if late:
        assert lifecycle.breach(session, incident, OPS, expected_version=incident.version,
                                stage=incident.due_stage, deadline=incident.due_at,
                                now=T0 + timedelta(minutes=start))
    steps = [(Action.ACCEPT, 10, {}), (Action.DISPATCH, 20, {"department_id": world.departments[department].id}),
             (Action.ACKNOWLEDGE, 30, {}), (Action.START, 40, {}), (Action.RESOLVE, 60, {}),
             (Action.CLOSE, 90, {})]
    for action, minutes, params in steps:
        lifecycle.HANDLERS[action](session, incident, OPS, expected_version=incident.version,
                                   now=T0 + timedelta(minutes=start + minutes), **params)


def make_ranked_world(session):
    """The small world with a day of closed cases (see tests/test_metrics_page_rankings.py)."""
    world = make_world(session)
    for n in range(30):
        close_case(session, world, "A1a", "dept-A", late=n < 3)
    for n in range(31):
        close_case(session, world, "B1a", "dept-B" if n < 26 else "dept-B1", late=False)
    session.commit()
    metrics.compute_day(session, DAY.start)
    session.commit()
    return world
