"""Simulated history in the reference city: legal, varied, rhythmic, hot where it was hot, repeatable."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone

import numpy as np
import pytest
from sqlalchemy import func, select

from models import Area, Incident, IncidentEvent
from models.db import make_engine, make_session_factory
from models.enums import CLOSED_STATES, Action, AreaLevel
from models.sla import CITY_ZONE
from seed.history import WEEKDAY, generate_history
from tests.conftest import copy_city
from tests.replay import assert_legal_histories

# Sunday 8 November 2026, 23:59:59 in Shanghai: three whole local days, Friday to Sunday.
END = datetime(2026, 11, 8, 15, 59, 59, tzinfo=timezone.utc)
DAYS = (date(2026, 11, 6), date(2026, 11, 7), date(2026, 11, 8))
PER_DAY = 400


def generate(session) -> dict:
    return generate_history(session, days=len(DAYS), per_day=PER_DAY, seed=1, end=END, progress=False)


def local_day(moment: datetime) -> date:
    return moment.astimezone(CITY_ZONE).date()


@pytest.fixture
def second_city_session(city_template, tmp_path, postgres):
    """Another fresh copy of the reference city, made as conftest's city_engine makes one."""
    url = copy_city(city_template, tmp_path, postgres, name="second-city")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()
    if postgres is not None:
        postgres.drop(url)


# ---------------------------------------------------------------- legality

def test_it_walks_every_incident_through_legal_steps_up_to_end(city_session):
    made = generate(city_session)["incidents"]

    assert assert_legal_histories(city_session) == made > 0
    last_event = city_session.scalar(select(func.max(IncidentEvent.at)))
    assert last_event <= END
    states = list(city_session.scalars(select(Incident.state)))
    assert sum(1 for s in states if s not in CLOSED_STATES) > 0.05 * made


# ---------------------------------------------------------------- variety

def test_it_mixes_in_every_kind_of_step(city_session):
    generate(city_session)

    events = city_session.execute(select(IncidentEvent.action, IncidentEvent.payload)).all()
    kinds = {
        "breach": lambda a, p: a == Action.BREACH,
        "raised level": lambda a, p: a in (Action.ESCALATE, Action.BREACH) and "to_level" in p,
        "manual escalation": lambda a, p: a == Action.ESCALATE,
        "return": lambda a, p: a == Action.RETURN,
        "rework": lambda a, p: a == Action.REWORK,
        "postponement": lambda a, p: a == Action.HOLD and "new_deadline" in p,
        "parking": lambda a, p: a == Action.HOLD and "new_deadline" not in p,
        "invalidate": lambda a, p: a == Action.INVALIDATE,
        "not ours": lambda a, p: a == Action.NOT_OURS,
        "self-handle": lambda a, p: a == Action.SELF_HANDLE,
        "mediated dispute": lambda a, p: a == Action.CLOSE and p.get("dispute_outcome") == "mediated",
    }
    counts = {name: sum(1 for e in events if test(e.action, e.payload)) for name, test in kinds.items()}
    assert [name for name, n in counts.items() if n == 0] == [], counts


# ---------------------------------------------------------------- realism

def test_it_reports_at_the_expected_volume_and_rhythm(city_session):
    made = generate(city_session)["incidents"]

    expected = PER_DAY * sum(WEEKDAY[day.weekday()] for day in DAYS)
    assert 0.75 * expected <= made <= 1.25 * expected
    reported = [t.astimezone(CITY_ZONE) for t in city_session.scalars(select(Incident.reported_at))]
    assert len(reported) == made
    assert {t.date() for t in reported} == set(DAYS)
    by_day = Counter(t.date() for t in reported)
    assert by_day[DAYS[0]] > by_day[DAYS[2]]  # a Friday is busier than a Sunday
    by_hour = Counter(t.hour for t in reported)
    morning, night = sum(by_hour[h] for h in (9, 10, 11)), sum(by_hour[h] for h in (1, 2, 3))
    assert morning > 3 * night, by_hour


def test_it_keeps_hot_towns_hot(city_session):
    generate(city_session)

    towns = list(city_session.scalars(select(Area.id).where(Area.level == AreaLevel.TOWN)))
    counts = Counter((local_day(t), town) for t, town in
                     city_session.execute(select(Incident.reported_at, Incident.town_id)))
    first = [counts[(DAYS[0], town)] for town in towns]
    last = [counts[(DAYS[2], town)] for town in towns]
    assert sum(first) > 0 and sum(last) > 0
    assert np.corrcoef(first, last)[0, 1] > 0.5


# ---------------------------------------------------------------- repeatability

def snapshot(session) -> tuple[list, list]:
    incidents = session.execute(
        select(Incident.id, Incident.state, Incident.item_id, Incident.grid_id, Incident.reported_at,
               Incident.version, Incident.description).order_by(Incident.id)).all()
    events = session.execute(
        select(IncidentEvent.incident_id, IncidentEvent.version, IncidentEvent.action,
               IncidentEvent.at, IncidentEvent.actor_id).order_by(IncidentEvent.id)).all()
    return [tuple(row) for row in incidents], [tuple(row) for row in events]


def test_it_repeats_itself_for_the_same_seed_and_end(city_session, second_city_session):
    generate(city_session)
    generate(second_city_session)

    first, second = snapshot(city_session), snapshot(second_city_session)
    assert len(first[0]) > 0
    assert first == second


def test_it_postpones_to_a_future_deadline_even_when_the_old_one_has_passed(city_session):
    from datetime import timedelta

    from models import lifecycle
    from models.actor import Actor
    from seed.history import Rates, Simulator, load_cast
    from seed.texts import DescriptionSource

    rng = np.random.default_rng(5)
    cast = load_cast(city_session, rng)
    sim = Simulator(city_session, cast, rng, END + timedelta(days=60), DescriptionSource.load(),
                    Rates(postponed=1.0, parked=0.0))
    start, system = END - timedelta(days=40), Actor.system("test")
    item = cast.items_by_category[14][0]
    fresh = lifecycle.report(city_session, system, item_id=item.id, area_id=cast.grids[0].id,
                             description="测试", channel="app", now=start)
    for name, params in (("accept", {}), ("dispatch", {"department_id": cast.route(fresh)[0]}),
                         ("acknowledge", {}), ("start", {})):
        lifecycle.HANDLERS[name](city_session, fresh, system, expected_version=fresh.version,
                                 now=start, **params)
    weeks_late = fresh.handle_due + timedelta(days=21)

    resumed = sim.maybe_hold(fresh, weeks_late, system)

    city_session.flush()
    [hold] = city_session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == fresh.id, IncidentEvent.action == Action.HOLD)).all()
    assert resumed is not None
    assert datetime.fromisoformat(hold.payload["new_deadline"]) > hold.at >= weeks_late
