"""Tests for seed.catalogue: the 20 categories, 83 items, limits and departments."""
from __future__ import annotations

from collections import Counter

import pytest

from seed.catalogue import (
    CATEGORIES,
    DEPARTMENTS,
    LIMITS,
    PRIORITIES,
    STAGES,
    all_items,
    category_by_key,
)

KEYS = (
    "fire", "work_safety", "food_drug", "health", "market", "business", "public_safety",
    "public_order", "dispute", "rental", "special_groups", "community", "preschool",
    "sanitation", "city_order", "environment", "traffic", "facilities", "labour", "disaster",
)
ITEM_CODES = {item.code for _, item in all_items()}


def test_it_lists_twenty_categories_in_order():
    assert [c.key for c in CATEGORIES] == list(KEYS)
    assert [c.code for c in CATEGORIES] == list(range(1, 21))


def test_it_has_exactly_83_items_with_3_to_6_per_category():
    assert len(all_items()) == 83
    assert all(3 <= len(c.items) <= 6 for c in CATEGORIES)


def test_it_gives_items_unique_codes_prefixed_by_their_category():
    codes = [item.code for _, item in all_items()]
    assert len(set(codes)) == len(codes)
    for category, item in all_items():
        assert item.code.startswith(f"{category.code:02d}-"), item.code


def test_it_gives_every_item_names_and_a_known_priority():
    for _, item in all_items():
        assert item.name_zh and item.name_en
        assert item.priority in PRIORITIES, item


def test_it_marks_only_disputes_as_disputes():
    assert [c.code for c in CATEGORIES if c.is_dispute] == [9]
    assert category_by_key("dispute").name_zh == "矛盾纠纷"


def test_it_refuses_an_unknown_category_key():
    with pytest.raises(KeyError, match="dispute"):
        category_by_key("nonsense")


def test_it_has_a_default_limit_for_every_stage_and_priority():
    defaults = {(r.stage, r.priority) for r in LIMITS if r.category is None and r.item is None}
    assert {(s, p) for s in STAGES for p in PRIORITIES} <= defaults


def test_it_points_limits_at_existing_categories_and_items():
    for rule in LIMITS:
        assert rule.category is None or rule.item is None, rule
        assert rule.category is None or rule.category in range(1, 21), rule
        assert rule.item is None or rule.item in ITEM_CODES, rule
        assert rule.stage in STAGES and rule.clock in ("calendar", "working"), rule
        assert rule.priority in (None, *PRIORITIES) and rule.minutes > 0, rule


def test_it_never_gives_two_limits_the_same_scope():
    scopes = Counter((r.stage, r.priority, r.category, r.item) for r in LIMITS)
    assert [scope for scope, n in scopes.items() if n > 1] == []


def test_it_lets_every_item_be_dispatched_at_town_level():
    untaken = [
        item.code for category, item in all_items()
        if not any(_takes(d, category.code, item.code) for d in DEPARTMENTS if "town" in d.levels)
    ]
    assert untaken == []


def test_it_points_departments_at_existing_categories_and_items():
    keys = [d.key for d in DEPARTMENTS]
    assert len(set(keys)) == len(keys)
    for department in DEPARTMENTS:
        assert set(department.levels) <= {"city", "town", "village"} and department.levels
        assert set(department.categories) <= set(range(1, 21)), department.key
        assert set(department.items) <= ITEM_CODES, department.key


def test_it_keeps_mediators_at_city_level_on_disputes():
    mediators = [d for d in DEPARTMENTS if d.mediator]
    assert {d.name_zh for d in mediators} == {"医调委", "交调中心", "平安建设促进会"}
    for department in mediators:
        assert department.levels == ("city",)
        assert all(code.startswith("09-") for code in department.items)
        assert set(department.categories) <= {9}


def test_it_has_village_committees_for_community_work_and_disputes():
    village = [d for d in DEPARTMENTS if "village" in d.levels]
    assert any(_takes(d, 12, "12-01") and _takes(d, 13, "13-01") for d in village)
    assert any(_takes(d, 9, "09-01") for d in village)


def _takes(department, category: int, item: str) -> bool:
    return category in department.categories or item in department.items
