"""The metrics page's figures: every indicator is models.metrics.get_range over the same
range, rates are ratios of sums, rankings keep the 30-case minimum and stay inside the
area, and nobody reads an area outside their jurisdiction."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from dashboard.metrics_page import data, tables
from dashboard.metrics_page.components import build_cards, build_notices, build_stages
from dashboard.metrics_page.definitions import (
    CARDS, INDICATORS, RANKABLE, SHOWN, STAGE_RATES, TREND,
)
from models.area import Area
from models.enums import AreaLevel, Role
from models.errors import Forbidden, Invalid, NotFound
from models.metrics import (
    ALL_CATEGORIES, FLOWS, MIN_CASES, RATES, TOO_FEW, DailyMetric, get_range, list_rankings,
)
from models.org import Department
from tests.metrics_page_support import (
    FIRST, LAST, OTHER_TOWN, TOWN, VILLAGE, build_history, get_area, make_leader,
)

pytestmark = pytest.mark.db
PERIOD = data.Period(FIRST + timedelta(days=2), LAST)  # the last two days; the previous two before


@pytest.fixture(scope="module")
def history(city_template, tmp_path_factory, postgres):
    made = build_history(city_template, tmp_path_factory.mktemp("metrics-page-data"), postgres)
    yield made
    made.sessions.kw["bind"].dispose()
    if postgres is not None:
        postgres.drop(made.url)


@pytest.fixture
def db(history):
    with history.sessions() as session:
        yield session
        session.rollback()


@pytest.fixture
def city(db):
    return get_area(db, level=AreaLevel.CITY)


def daily_rows(session, area_id: int, period: data.Period) -> list[DailyMetric]:
    return list(session.scalars(select(DailyMetric).where(
        DailyMetric.area_id == area_id, DailyMetric.category_id == ALL_CATEGORIES,
        DailyMetric.day.between(period.start, period.end)).order_by(DailyMetric.day)))


# ---------------------------------------------------------------- indicators

def test_it_shows_every_indicator_as_get_range_gives_it(db, city):
    town = get_area(db, TOWN)
    for area, actor in ((city, make_leader(city)), (town, make_leader(town))):
        view = data.get_view(db, actor, area.code, PERIOD)
        assert view.has_data and view.computed
        expected = get_range(db, area.id, PERIOD.start, PERIOD.end)
        assert view.current == expected
        before = PERIOD.previous()
        assert view.before == get_range(db, area.id, before.start, before.end)
        rows = {r["key"]: r for r in tables.list_indicator_rows(view, "zh")}
        assert set(rows) == set(SHOWN)
        for key in SHOWN:
            assert rows[key]["value"] == tables.get_shown(INDICATORS[key], expected[key]), key
        assert rows["reported"]["value"] == sum(r.reported for r in daily_rows(db, area.id, PERIOD)) > 0


def test_it_makes_a_range_rate_a_ratio_of_sums(db, city):
    view = data.get_view(db, make_leader(city), None, PERIOD)
    rows = daily_rows(db, city.id, PERIOD)
    assert [r.day for r in rows] == PERIOD.list_days()
    on_time = sum(r.closed_on_time for r in rows)
    cases = sum(r.closed for r in rows) + rows[-1].overdue_end  # a stock: the last day's value
    assert view.current["on_time_closure_rate"] == pytest.approx(on_time / cases)
    mean_of_days = sum(r.on_time_closure_rate for r in rows) / len(rows)
    assert view.current["on_time_closure_rate"] != pytest.approx(mean_of_days, abs=1e-12)
    satisfied, feedback = sum(r.satisfied for r in rows), sum(r.feedback for r in rows)
    assert view.current["satisfaction_rate"] == pytest.approx(satisfied / feedback)
    numerator, denominator = tables.get_parts("on_time_closure_rate", view.current)
    assert (numerator, denominator) == (on_time, cases)
    accuracy = tables.get_parts("dispatch_accuracy", view.current)
    assert accuracy[0] / accuracy[1] == pytest.approx(view.current["dispatch_accuracy"])


def test_it_shows_each_stage_from_its_own_counts(db, city):
    view = data.get_view(db, make_leader(city), None, PERIOD)
    rows = daily_rows(db, city.id, PERIOD)
    rendered = build_stages(tables.list_indicator_rows(view, "en"), view.current, "en")
    for stage, bar in zip(("accept", "dispatch", "handle", "check"), rendered):
        done = sum(getattr(r, f"{stage}_done") for r in rows)
        on_time = sum(getattr(r, f"{stage}_on_time") for r in rows)
        assert done > 0, f"the generated history completed no {stage} stage"
        assert view.current[f"{stage}_on_time_rate"] == pytest.approx(on_time / done)
        assert bar.title == INDICATORS[f"{stage}_on_time_rate"].definition_en
        assert f"{on_time} of {done} on time" in str(bar)


def test_it_trends_every_day_of_the_range(db, city):
    period = data.Period(FIRST - timedelta(days=1), LAST)  # one day before the history
    trend = data.list_trend(db, city.id, period)
    assert [e["day"] for e in trend] == period.list_days()
    assert trend[0]["reported"] == 0 and trend[0]["on_time_closure_rate"] is None
    for entry, row in zip(trend[1:], daily_rows(db, city.id, data.Period(FIRST, LAST))):
        assert entry["reported"] == row.reported and entry["overdue_end"] == row.overdue_end
        assert entry["on_time_closure_rate"] == pytest.approx(row.on_time_closure_rate)
    table = tables.build_trend_table(data.get_view(db, make_leader(city), None, period), "zh")
    assert [row[1] for row in table.rows] == [e["reported"] for e in trend]


def test_it_defines_every_indicator_shown(db, city):
    figures = get_range(db, city.id, PERIOD.start, PERIOD.end)
    for key in (*SHOWN, *TREND, *RANKABLE):
        indicator = INDICATORS[key]
        assert key in figures
        for text in (indicator.name_zh, indicator.name_en, indicator.definition_zh,
                     indicator.definition_en):
            assert len(text.strip()) > 1, key
    assert set(RANKABLE) <= set(RATES) and set(STAGE_RATES) <= set(SHOWN)
    view = data.get_view(db, make_leader(city), None, PERIOD)
    cards = build_cards(tables.list_indicator_rows(view, "zh"), "zh")
    assert [c.id["key"] for c in cards] == list(CARDS)
    assert all(c.title == INDICATORS[c.id["key"]].definition_zh for c in cards)


# ---------------------------------------------------------------- rankings

def _check_ranking(ranking, expected_ids=None):
    for entry in ranking.ranked:
        assert entry["cases"] >= MIN_CASES and entry["value"] is not None
    for entry in ranking.too_few:
        assert entry["cases"] < MIN_CASES and (entry["rank"], entry["value"]) == (None, None)
        assert entry["status"] == TOO_FEW
    values = [e["value"] for e in ranking.ranked]
    better = RATES[ranking.indicator].higher_is_better
    assert values == sorted(values, reverse=better)
    for n, entry in enumerate(ranking.ranked):
        assert entry["rank"] == (ranking.ranked[n - 1]["rank"] if n and values[n - 1] == values[n] else n + 1)
    if expected_ids is not None:
        assert {e["id"] for e in ranking.ranked + ranking.too_few} == expected_ids


def test_it_ranks_towns_with_at_least_30_cases(db, city):
    view = data.get_view(db, make_leader(city), None, PERIOD)
    towns = set(db.scalars(select(Area.id).where(Area.parent_id == city.id)))
    assert len(towns) == 35
    assert view.children.ranked and view.children.too_few, "the history should rank some towns, not all"
    _check_ranking(view.children, towns)
    cities = {e["id"]: e for e in list_rankings(db, PERIOD.start, PERIOD.end, level="town")}
    for entry in view.children.ranked + view.children.too_few:
        if entry["id"] in cities:  # same figures as models.metrics.list_rankings
            assert (entry["cases"], entry["value"]) == (cities[entry["id"]]["cases"], cities[entry["id"]]["value"])
    rows = tables.list_ranking_rows(view.children, "zh")
    assert [r[0] for r in rows] == [e["rank"] for e in view.children.ranked + view.children.too_few]


def test_it_ranks_villages_of_the_town_among_themselves(db):
    town = get_area(db, TOWN)
    view = data.get_view(db, make_leader(town), None, PERIOD, indicator="closure_rate")
    villages = set(db.scalars(select(Area.id).where(Area.parent_id == town.id)))
    entries = view.children.ranked + view.children.too_few
    assert {e["id"] for e in entries} == villages
    assert all(e["cases"] < MIN_CASES for e in view.children.too_few)
    if view.children.ranked:
        assert view.children.ranked[0]["rank"] == 1  # ranked again inside the town


def test_it_ranks_only_departments_inside_the_area(db, city):
    town = get_area(db, TOWN)
    view = data.get_view(db, make_leader(city), None, PERIOD, department_level="town")
    assert view.departments.too_few, "the history should give town departments some cases"
    _check_ranking(view.departments)  # 400 reports a day: too few to rank (see test_metrics_page_rankings)
    in_town = data.get_view(db, make_leader(town), None, PERIOD, department_level="village")
    allowed = set(db.scalars(select(Department.id).join(Area, Area.id == Department.area_id)
                             .where(Area.town_id == town.id, Department.level == AreaLevel.VILLAGE)))
    ids = {e["id"] for e in in_town.departments.ranked + in_town.departments.too_few}
    assert ids and ids <= allowed
    with pytest.raises(Invalid):
        data.get_view(db, make_leader(town), None, PERIOD, department_level="city")


def test_it_refuses_an_indicator_it_cannot_rank(db, city):
    with pytest.raises(Invalid):
        data.get_view(db, make_leader(city), None, PERIOD, indicator="reported")


# ---------------------------------------------------------------- jurisdiction

def test_it_refuses_a_town_leader_another_town(db):
    leader = make_leader(get_area(db, TOWN))
    with pytest.raises(Forbidden):
        data.get_view(db, leader, OTHER_TOWN, PERIOD)
    with pytest.raises(Forbidden):
        data.get_view(db, leader, get_area(db, level=AreaLevel.CITY).code, PERIOD)
    other_village = db.scalars(select(Area.code).where(
        Area.parent_id == get_area(db, OTHER_TOWN).id)).first()
    with pytest.raises(Forbidden):
        data.get_view(db, leader, other_village, PERIOD)
    with pytest.raises(NotFound):
        data.get_view(db, leader, "no-such-area", PERIOD)


def test_it_refuses_roles_without_metrics(db):
    town = get_area(db, TOWN)
    for role in (Role.OPERATOR, Role.SHIFT_LEAD, Role.GRID_WORKER, Role.HANDLER, Role.SYSTEM):
        with pytest.raises(Forbidden):
            data.get_view(db, make_leader(town, role), TOWN, PERIOD)
    with pytest.raises(Forbidden):
        data.get_area(db, None, TOWN)


def test_it_drills_down_within_the_jurisdiction(db):
    town = get_area(db, TOWN)
    leader = make_leader(town)
    view = data.get_view(db, leader, None, PERIOD)
    assert [a.code for a in view.trail] == [TOWN]  # the breadcrumb starts at the leader's area
    codes = [e["code"] for e in view.children.ranked + view.children.too_few]
    assert VILLAGE in codes
    for code in codes:
        child = data.get_view(db, leader, code, PERIOD)
        assert [a.code for a in child.trail] == [TOWN, code]
        assert child.children.level is None and not child.children.ranked  # no rows below a village
    village = data.get_view(db, make_leader(get_area(db, VILLAGE)), None, PERIOD)
    assert [a.code for a in village.trail] == [VILLAGE]
    admin = data.get_view(db, make_leader(get_area(db, level=AreaLevel.CITY), Role.ADMIN), VILLAGE, PERIOD)
    assert [a.level for a in admin.trail] == [AreaLevel.CITY, AreaLevel.TOWN, AreaLevel.VILLAGE]


def test_it_opens_an_admin_without_an_area_on_the_city(db):
    from models.actor import Actor

    view = data.get_view(db, Actor(Role.ADMIN, "admin", 1, None), None, PERIOD)
    assert view.area.level == AreaLevel.CITY


# ---------------------------------------------------------------- ranges and empty tables

def test_it_reads_a_sensible_range():
    today = date(2026, 11, 23)
    assert data.get_period(None, None, today) == data.Period(date(2026, 11, 16), date(2026, 11, 22))
    assert data.get_period("2026-11-05", "2026-11-01", today) == data.Period(date(2026, 11, 1), date(2026, 11, 5))
    assert data.get_period("rubbish", "2027-01-01", today) == data.Period(date(2026, 11, 17), today)
    assert data.get_period("2020-01-01", "2026-11-10", today).days == data.MAX_DAYS
    assert data.Period(date(2026, 11, 1), date(2026, 11, 7)).previous() == data.Period(
        date(2026, 10, 25), date(2026, 10, 31))


def test_it_says_so_when_a_range_has_no_data(db, city):
    before = data.Period(FIRST - timedelta(days=30), FIRST - timedelta(days=20))
    view = data.get_view(db, make_leader(city), None, before)
    assert not view.has_data and view.computed
    assert view.current["reported"] == 0 and view.current["on_time_closure_rate"] is None
    notices = str(build_notices(view, "zh", data.get_latest_day(db)))
    assert "该日期范围内没有数据" in notices and LAST.isoformat() in notices


def test_it_says_so_when_no_metrics_were_ever_computed(city_session):
    city = get_area(city_session, level=AreaLevel.CITY)
    assert city_session.scalar(select(func.count()).select_from(DailyMetric)) == 0
    view = data.get_view(city_session, make_leader(city), None, PERIOD)
    assert (view.has_data, view.computed) == (False, False)
    assert all(f == 0 for f in (view.current[k] for k in FLOWS))
    rows = tables.list_indicator_rows(view, "en")
    assert {r["text"] for r in rows if INDICATORS[r["key"]].unit != "count"} == {"n/a"}
    notices = str(build_notices(view, "en", None))
    assert "No data for this range." in notices and "metrics backfill --days N" in notices
    assert len(view.children.too_few) == 35 and not view.children.ranked
