"""Rankings on the metrics page, counted by hand on the small world of tests/factories.py:
town A closes 30 cases in village A1 through dept-A, 3 of them late; town B closes 31 on
time in village B1, 26 through dept-B and 5 through the village's dept-B1. Day D is
Monday 2 November 2026 (T0 is 09:00 local)."""
from __future__ import annotations

import pytest

from dashboard.metrics_page import data, tables
from dashboard.metrics_page.rankings import rerank
from models.actor import Actor
from models.enums import AreaLevel, Role
from models.metrics import TOO_FEW
from tests.metrics_page_support import DAY, make_ranked_world


@pytest.fixture
def world(session):
    return make_ranked_world(session)


def leader(world, key: str, role: Role = Role.LEADER) -> Actor:
    return Actor(role, f"leader-{key}", None, world.areas[key].id)


def summary(ranking) -> list[tuple]:
    return [(e["code"], e["rank"], e["value"] and round(e["value"], 3), e["cases"], e["status"])
            for e in ranking.ranked + ranking.too_few]


def test_it_ranks_towns_and_their_departments_on_the_city_page(session, world):
    view = data.get_view(session, leader(world, "C"), None, DAY, department_level="town")
    assert summary(view.children) == [("B", 1, 1.0, 31, "ranked"), ("A", 2, 0.9, 30, "ranked")]
    assert summary(view.departments) == [("dept-A", 1, 0.9, 30, "ranked"),
                                         ("dept-B", None, None, 26, TOO_FEW)]
    assert tables.list_ranking_rows(view.departments, "zh") == [
        [1, "部门dept-A", "dept-A", 90.0, 30, "已排名"], [None, "部门dept-B", "dept-B", None, 26, "案件不足"]]
    city_departments = data.get_view(session, leader(world, "C"), None, DAY)
    assert city_departments.departments.level == AreaLevel.CITY
    assert summary(city_departments.departments) == []  # dept-C took nothing that day


def test_it_ranks_again_inside_a_town(session, world):
    town_a = data.get_view(session, leader(world, "A"), None, DAY)
    assert summary(town_a.children) == [("A1", 1, 0.9, 30, "ranked")]  # 2nd in the city, 1st here
    assert summary(town_a.departments) == [("dept-A", 1, 0.9, 30, "ranked")]
    town_b = data.get_view(session, leader(world, "B"), None, DAY, department_level="village")
    assert summary(town_b.departments) == [("dept-B1", None, None, 5, TOO_FEW)]
    assert data.get_view(session, leader(world, "B"), None, DAY).departments.ranked == []


def test_it_keeps_each_leader_to_their_own_town(session, world):
    from models.errors import Forbidden

    with pytest.raises(Forbidden):
        data.get_view(session, leader(world, "A"), "B", DAY)
    with pytest.raises(Forbidden):
        data.get_view(session, leader(world, "A"), "B1", DAY)
    with pytest.raises(Forbidden):
        data.get_view(session, leader(world, "A1"), "A", DAY)
    with pytest.raises(Forbidden):
        data.get_view(session, leader(world, "A", Role.SHIFT_LEAD), "A", DAY)
    assert data.get_view(session, leader(world, "A"), "A1", DAY).area.code == "A1"


def test_it_shares_a_rank_between_equal_values():
    entries = [{"id": n, "value": v} for n, v in enumerate((0.9, 0.9, 0.8, 0.7, 0.7))]
    assert [e["rank"] for e in rerank(entries)] == [1, 1, 3, 4, 4]
    assert rerank([]) == []
