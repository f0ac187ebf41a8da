"""Tests for seed.city: the invariants of the reference city, read back from the database.

The reference city (seed 2024) is built once per run by the `city_template` fixture; each
test gets a fresh copy through `city_session`, so tests that change rules change a copy.
"""
from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict

import numpy as np
import pytest
import shapely
from sqlalchemy import func, select

from models import Area, Category, Department, Item, SlaRule, Staff, department_item
from models.enums import AreaLevel, Clock, Priority, Role, Stage
from models.errors import Invalid
from models.sla import forget_policy, get_policy
from seed.catalogue import LIMITS, all_items
from seed.city import CityPlan, plan_areas
from tests.conftest import require_file

SEED = 2024
TOWNS, VILLAGES, GRIDS = 35, 593, 3106
CENTRE_ROLES = {Role.OPERATOR, Role.SHIFT_LEAD, Role.LEADER}
# Relative area tolerance for containment, tiling and overlap.
AREA_TOL = 1e-4
# Coordinates are stored rounded to 1e-6 degrees, and each area is rounded on its own, so a
# child's border may sit up to ~7e-7 degrees outside its parent's. Buffering the parent by one
# storage unit (1e-6 degrees, about 10 cm) absorbs that; a smaller buffer (1e-7) leaves
# rounding slivers of up to 1.1e-4 of a grid's area in the seed-2024 city.
CONTAINMENT_BUFFER = 1e-6
ASCII_LETTER_OR_DIGIT = re.compile(r"[A-Za-z0-9]")
ASCII_LETTER = re.compile(r"[A-Za-z]")
# Boundary-file names that the NBS code list spells differently (seed/data/SOURCES.md).
CODE_LIST_NAMES = {"松山湖管委会": "松山湖", "虎门港管委会": "东莞港"}


# ------------------------------------------------------------------ helpers

def load_areas(session) -> list:
    return session.execute(select(
        Area.id, Area.level, Area.code, Area.code_official, Area.name_zh, Area.name_en,
        Area.parent_id, Area.city_id, Area.town_id, Area.village_id,
        Area.geometry, Area.geometry_simplified,
    ).order_by(Area.id)).all()


def shapes(geojson_dicts) -> np.ndarray:
    """Shapely geometries (an object array) from GeoJSON geometry dicts."""
    return shapely.from_geojson(np.array([json.dumps(d) for d in geojson_dicts], dtype=object))


def by_level(rows, level: AreaLevel) -> list:
    return [r for r in rows if r.level == level]


def child_parent_indices(rows, level: AreaLevel) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the areas of `level` and, aligned, of their parents."""
    index = {r.id: i for i, r in enumerate(rows)}
    children = np.array([i for i, r in enumerate(rows) if r.level == level])
    parents = np.array([index[rows[i].parent_id] for i in children])
    return children, parents


def worst(shares: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(shares.items(), key=lambda kv: -kv[1])[:5]


def resolve(session, stage: Stage, priority: Priority, item: Item):
    """Resolve against the rules as they are now (the policy is cached per session)."""
    forget_policy(session)
    return get_policy(session).resolve(stage, priority, item.id, item.category_id)


def item_by_code(session, code: str) -> Item:
    return session.scalars(select(Item).where(Item.code == code)).one()


def category_id(session, code: int) -> int:
    return session.scalar(select(Category.id).where(Category.code == code))


def limit_spec(stage: str, priority=None, category=None, item=None):
    """The one rule of seed/catalogue.py LIMITS with exactly this scope."""
    found = [r for r in LIMITS if (r.stage, r.priority, r.category, r.item)
             == (stage, priority, category, item)]
    assert len(found) == 1, f"LIMITS has {len(found)} rules for {(stage, priority, category, item)}"
    return found[0]


def stored_rule(session, stage, priority=None, category_id=None, item_id=None) -> SlaRule:
    return session.scalars(select(SlaRule).where(
        SlaRule.stage == stage,
        SlaRule.priority.is_(None) if priority is None else SlaRule.priority == priority,
        SlaRule.category_id.is_(None) if category_id is None else SlaRule.category_id == category_id,
        SlaRule.item_id.is_(None) if item_id is None else SlaRule.item_id == item_id,
    )).one()


def plan(seed: int) -> CityPlan:
    for name in ("dongguan_towns.geojson", "dongguan_city_outline.geojson",
                 "dongguan_town_codes_2022.csv"):
        require_file(f"seed/data/geo/{name}")
    result = CityPlan()
    plan_areas(np.random.default_rng(seed), result, progress=False)
    return result


def first_difference(a: list[dict], b: list[dict]) -> str | None:
    if len(a) != len(b):
        return f"{len(a)} rows against {len(b)}"
    for x, y in zip(a, b):
        if x != y:
            keys = sorted(k for k in x.keys() | y.keys() if x.get(k) != y.get(k))
            return f"area {x.get('code')} differs in {keys}"
    return None


@pytest.fixture(scope="module")
def plan_2024() -> CityPlan:
    return plan(SEED)


# ------------------------------------------------------------------ counts

def test_it_builds_one_city_35_towns_593_villages_and_3106_grids(city_session):
    levels = dict(city_session.execute(select(Area.level, func.count()).group_by(Area.level)).all())
    assert levels == {AreaLevel.CITY: 1, AreaLevel.TOWN: TOWNS,
                      AreaLevel.VILLAGE: VILLAGES, AreaLevel.GRID: GRIDS}


def test_it_loads_the_catalogue_of_20_categories_and_83_items(city_session):
    assert city_session.scalar(select(func.count()).select_from(Category)) == 20
    codes = set(city_session.scalars(select(Item.code)))
    assert len(codes) == 83
    assert codes == {item.code for _, item in all_items()}


def test_it_employs_between_8000_and_10500_grid_workers_all_on_grids(city_session):
    workers = city_session.execute(
        select(Staff.id, Area.level).join(Area, Area.id == Staff.area_id)
        .where(Staff.role == Role.GRID_WORKER)).all()
    assert 8000 <= len(workers) <= 10500
    assert {level for _, level in workers} == {AreaLevel.GRID}


def test_it_gives_every_grid_at_least_one_grid_worker(city_session):
    grids = set(city_session.scalars(select(Area.id).where(Area.level == AreaLevel.GRID)))
    staffed = set(city_session.scalars(select(Staff.area_id).where(Staff.role == Role.GRID_WORKER)))
    unstaffed = grids - staffed
    assert len(grids) == GRIDS
    assert not unstaffed, f"{len(unstaffed)} grids have no grid worker"


def test_it_gives_every_town_and_village_a_department(city_session):
    rows = load_areas(city_session)
    with_department = set(city_session.scalars(select(Department.area_id)))
    for level, expected in ((AreaLevel.TOWN, TOWNS), (AreaLevel.VILLAGE, VILLAGES)):
        areas = by_level(rows, level)
        assert len(areas) == expected
        missing = [a.code for a in areas if a.id not in with_department]
        assert not missing, f"{level} without a department: {missing[:5]}"


def test_it_staffs_a_command_centre_at_the_city_each_town_and_each_village(city_session):
    rows = load_areas(city_session)
    roles = defaultdict(set)
    for area_id, role in city_session.execute(select(Staff.area_id, Staff.role)
                                              .where(Staff.department_id.is_(None))):
        roles[area_id].add(role)
    centres = [r for r in rows if r.level in (AreaLevel.CITY, AreaLevel.TOWN, AreaLevel.VILLAGE)]
    assert len(centres) == 1 + TOWNS + VILLAGES
    short = [(r.code, sorted(CENTRE_ROLES - roles[r.id])) for r in centres
             if not CENTRE_ROLES <= roles[r.id]]
    assert not short, f"centres missing roles: {short[:5]}"
    grids = by_level(rows, AreaLevel.GRID)
    assert not [r.code for r in grids if roles[r.id] & CENTRE_ROLES], "centre staff on a grid"


# ------------------------------------------------------------------ codes

def test_it_gives_the_city_and_towns_their_official_codes(city_session):
    rows = load_areas(city_session)
    [city] = by_level(rows, AreaLevel.CITY)
    assert (city.code, city.code_official) == ("441900", True)
    towns = by_level(rows, AreaLevel.TOWN)
    assert len(towns) == TOWNS
    bad = [(t.name_zh, t.code, t.code_official) for t in towns
           if not (re.fullmatch(r"441900\d{3}", t.code) and t.code_official is True)]
    assert not bad
    # Each code is the NBS code listed for that town's name (seed/data/SOURCES.md).
    with open(require_file("seed/data/geo/dongguan_town_codes_2022.csv"), encoding="utf-8") as fh:
        name_of_code = {row["code"]: row["name"] for row in csv.DictReader(fh)}
    listed_as = {t.name_zh: CODE_LIST_NAMES.get(t.name_zh, t.name_zh) for t in towns}
    wrong = [(t.name_zh, t.code, name_of_code.get(t.code)) for t in towns
             if name_of_code.get(t.code) != listed_as[t.name_zh]]
    assert not wrong


def test_it_prefixes_village_codes_with_their_town_and_grid_codes_with_their_village(city_session):
    rows = load_areas(city_session)
    code_of = {r.id: r.code for r in rows}
    for level, digits in ((AreaLevel.VILLAGE, 12), (AreaLevel.GRID, 15)):
        areas = by_level(rows, level)
        bad = [(r.code, code_of[r.parent_id]) for r in areas
               if not (r.code.startswith(code_of[r.parent_id])
                       and re.fullmatch(rf"\d{{{digits}}}", r.code))]
        assert not bad, f"{level} codes not under their parent's: {bad[:5]}"
        assert not [r.code for r in areas if r.code_official], f"generated {level} codes marked official"
    # NBS style: communities (社区) number from 001, villages (村) from 201.
    for r in by_level(rows, AreaLevel.VILLAGE):
        serial = int(r.code[9:])
        expected = range(1, 200) if r.name_zh.endswith("社区") else range(201, 400)
        assert serial in expected, (r.code, r.name_zh)


def test_it_gives_every_area_a_unique_code(city_session):
    codes = Counter(r.code for r in load_areas(city_session))
    assert codes.total() == 1 + TOWNS + VILLAGES + GRIDS
    duplicated = sorted(c for c, n in codes.items() if n > 1)
    assert not duplicated


# ------------------------------------------------------------------ the tree

def test_it_hangs_towns_under_the_city_villages_under_towns_and_grids_under_villages(city_session):
    rows = load_areas(city_session)
    level_of = {r.id: r.level for r in rows}
    expected_parent = {AreaLevel.CITY: None, AreaLevel.TOWN: AreaLevel.CITY,
                       AreaLevel.VILLAGE: AreaLevel.TOWN, AreaLevel.GRID: AreaLevel.VILLAGE}
    bad = [(r.code, r.level, level_of.get(r.parent_id)) for r in rows
           if level_of.get(r.parent_id) != expected_parent[r.level]]
    assert not bad, bad[:5]
    # Every town, village and grid has children at the level below (no empty branches).
    has_children = {r.parent_id for r in rows}
    childless = [r.code for r in rows if r.level != AreaLevel.GRID and r.id not in has_children]
    assert not childless


def test_it_denormalises_ancestors_in_agreement_with_the_parent_chain(city_session):
    rows = load_areas(city_session)
    by_id = {r.id: r for r in rows}
    bad = []
    for r in rows:
        ancestors = {}
        parent_id = r.parent_id
        while parent_id is not None:
            ancestors[by_id[parent_id].level] = parent_id
            parent_id = by_id[parent_id].parent_id
        expected = (ancestors.get(AreaLevel.CITY), ancestors.get(AreaLevel.TOWN),
                    ancestors.get(AreaLevel.VILLAGE))
        if (r.city_id, r.town_id, r.village_id) != expected:
            bad.append((r.code, (r.city_id, r.town_id, r.village_id), expected))
    assert not bad, bad[:5]
    grid = city_session.get(Area, by_level(rows, AreaLevel.GRID)[0].id)
    village = by_id[grid.parent_id]
    assert grid.path_ids() == (village.city_id, village.town_id, village.id, grid.id)


# ------------------------------------------------------------------ geometry

def test_it_stores_valid_non_empty_polygons_for_every_area(city_session):
    rows = load_areas(city_session)
    geoms = shapes(r.geometry for r in rows)
    kinds = set(shapely.get_type_id(geoms).tolist())
    assert kinds <= {3, 6}, "every geometry is a Polygon or MultiPolygon"
    assert not shapely.is_empty(geoms).any()
    invalid = [rows[i].code for i in np.flatnonzero(~shapely.is_valid(geoms))]
    assert not invalid, invalid[:5]
    assert (shapely.area(geoms) > 0).all()


def test_it_keeps_every_grid_inside_its_village_and_every_village_inside_its_town(city_session):
    rows = load_areas(city_session)
    geoms = shapes(r.geometry for r in rows)
    for level in (AreaLevel.VILLAGE, AreaLevel.GRID):
        children, parents = child_parent_indices(rows, level)
        outside = shapely.difference(geoms[children], shapely.buffer(geoms[parents], CONTAINMENT_BUFFER))
        share = shapely.area(outside) / shapely.area(geoms[children])
        stray = {rows[c].code: s for c, s in zip(children, share) if s >= AREA_TOL}
        assert not stray, f"{level} areas sticking out of their parent: {worst(stray)}"


def test_it_tiles_each_town_with_its_villages_and_each_village_with_its_grids(city_session):
    rows = load_areas(city_session)
    geoms = shapes(r.geometry for r in rows)
    areas = shapely.area(geoms)
    for level in (AreaLevel.VILLAGE, AreaLevel.GRID):
        children, parents = child_parent_indices(rows, level)
        groups = defaultdict(list)
        for c, p in zip(children, parents):
            groups[p].append(c)
        sum_error, union_error = {}, {}
        for p, members in groups.items():
            sum_error[rows[p].code] = abs(areas[members].sum() - areas[p]) / areas[p]
            union_error[rows[p].code] = abs(shapely.union_all(geoms[members]).area - areas[p]) / areas[p]
        assert len(groups) == len(by_level(rows, rows[parents[0]].level))
        gaps = {k: v for k, v in sum_error.items() if v >= AREA_TOL}
        assert not gaps, f"{level} areas do not add up to their parent: {worst(gaps)}"
        holes = {k: v for k, v in union_error.items() if v >= AREA_TOL}
        assert not holes, f"{level} areas do not cover their parent: {worst(holes)}"


def test_it_never_overlaps_sibling_villages_or_sibling_grids(city_session):
    rows = load_areas(city_session)
    geoms = shapes(r.geometry for r in rows)
    for level in (AreaLevel.VILLAGE, AreaLevel.GRID):
        children, parents = child_parent_indices(rows, level)
        cells = geoms[children]
        left, right = shapely.STRtree(cells).query(cells, predicate="intersects")
        pairs = (left < right) & (parents[left] == parents[right])
        assert pairs.any(), "siblings share borders, so some must touch"
        overlap = shapely.area(shapely.intersection(cells[left[pairs]], cells[right[pairs]]))
        per_parent = defaultdict(float)
        for p, a in zip(parents[left[pairs]], overlap):
            per_parent[p] += a
        share = {rows[p].code: a / shapely.area(geoms[p]) for p, a in per_parent.items()}
        overlapping = {k: v for k, v in share.items() if v >= AREA_TOL}
        assert not overlapping, f"{level} siblings overlap: {worst(overlapping)}"


def test_it_stores_a_simplified_geometry_no_more_detailed_than_the_full_one(city_session):
    rows = load_areas(city_session)
    missing = [r.code for r in rows if not r.geometry_simplified]
    assert not missing, missing[:5]
    full = shapes(r.geometry for r in rows)
    simple = shapes(r.geometry_simplified for r in rows)
    assert set(shapely.get_type_id(simple).tolist()) <= {3, 6}
    empty = [rows[i].code
             for i in np.flatnonzero(shapely.is_empty(simple) | (shapely.area(simple) <= 0))]
    assert not empty, empty[:5]
    more = [rows[i].code for i in np.flatnonzero(
        shapely.get_num_coordinates(simple) > shapely.get_num_coordinates(full))]
    assert not more, f"simplified geometry with more vertices than the full one: {more[:5]}"
    # The city outline, at least, is detailed enough that simplifying it must drop vertices.
    city = next(i for i, r in enumerate(rows) if r.level == AreaLevel.CITY)
    assert shapely.get_num_coordinates(simple[city]) < shapely.get_num_coordinates(full[city])


# ------------------------------------------------------------------ time limits

def test_it_has_a_positive_time_limit_for_every_item_stage_and_priority(city_session):
    policy = get_policy(city_session)
    items = list(city_session.scalars(select(Item)))
    assert len(items) == 83
    for item in items:
        for stage in Stage:
            for priority in Priority:
                limit = policy.resolve(stage, priority, item.id, item.category_id)
                assert limit.minutes > 0, (item.code, stage, priority)
    assert {s.value for s in Stage} == {"accept", "dispatch", "handle", "check"}
    assert {p.value for p in Priority} == {"urgent", "normal", "low"}


def test_it_resolves_the_real_catalogue_most_specific_first(city_session):
    handle = "handle"
    cases = [
        # item with priority, for that priority only; the item's other priorities get defaults
        ("02-03", Priority.URGENT, limit_spec(handle, "urgent", item="02-03")),
        ("02-03", Priority.NORMAL, limit_spec(handle, "normal")),
        # item alone beats the defaults with priority, at every priority
        *[("01-01", p, limit_spec(handle, item="01-01")) for p in Priority],
        # item alone beats its category's rule; a sibling item gets the category's rule
        ("09-04", Priority.NORMAL, limit_spec(handle, item="09-04")),
        ("09-01", Priority.NORMAL, limit_spec(handle, category=9)),
        # category with priority, for that priority only
        ("14-01", Priority.NORMAL, limit_spec(handle, "normal", category=14)),
        ("14-01", Priority.URGENT, limit_spec(handle, "urgent")),
        # item with priority beats category with priority
        ("20-01", Priority.URGENT, limit_spec(handle, "urgent", item="20-01")),
        ("20-01", Priority.NORMAL, limit_spec(handle, "normal")),
    ]
    for code, priority, spec in cases:
        limit = resolve(city_session, Stage.HANDLE, priority, item_by_code(city_session, code))
        expected = stored_rule(
            city_session, Stage(spec.stage), spec.priority and Priority(spec.priority),
            category_id=spec.category and category_id(city_session, spec.category),
            item_id=spec.item and item_by_code(city_session, spec.item).id)
        assert (limit.rule_id, limit.minutes, limit.clock) \
            == (expected.id, spec.minutes, Clock(spec.clock)), (code, priority)


def test_it_picks_each_scope_in_order_as_more_specific_rules_are_removed(city_session):
    session = city_session
    medical = item_by_code(session, "09-04")
    disputes = medical.category_id
    stage, priority = Stage.HANDLE, Priority.NORMAL
    # The real catalogue already has three of the six scopes for this item at this stage.
    item_alone = stored_rule(session, stage, item_id=medical.id)
    category_alone = stored_rule(session, stage, category_id=disputes)
    default_with_priority = stored_rule(session, stage, priority=priority)
    assert item_alone.minutes == limit_spec("handle", item="09-04").minutes
    assert category_alone.minutes == limit_spec("handle", category=9).minutes
    assert default_with_priority.minutes == limit_spec("handle", "normal").minutes
    # Add the other three, each with a distinct limit.
    item_with_priority = SlaRule(stage=stage, priority=priority, item_id=medical.id,
                                 minutes=11, clock=Clock.CALENDAR)
    category_with_priority = SlaRule(stage=stage, priority=priority, category_id=disputes,
                                     minutes=22, clock=Clock.CALENDAR)
    default_alone = SlaRule(stage=stage, minutes=33, clock=Clock.WORKING)
    session.add_all([item_with_priority, category_with_priority, default_alone])
    session.flush()

    ladder = [item_with_priority, item_alone, category_with_priority, category_alone,
              default_with_priority, default_alone]
    minutes = [r.minutes for r in ladder]
    assert len(set(minutes)) == len(minutes), "each scope needs its own limit to tell them apart"
    # The item-with-priority rule applies only to its priority.
    assert resolve(session, stage, Priority.URGENT, medical).rule_id == item_alone.id
    for rule in ladder:
        limit = resolve(session, stage, priority, medical)
        assert (limit.rule_id, limit.minutes, limit.clock) == (rule.id, rule.minutes, rule.clock)
        session.delete(rule)
        session.flush()
    with pytest.raises(Invalid):
        resolve(session, stage, priority, medical)


# ------------------------------------------------------------------ departments

def test_it_gives_every_department_at_least_one_item(city_session):
    departments = set(city_session.scalars(select(Department.code)))
    taking = set(city_session.scalars(
        select(Department.code).join(department_item, department_item.c.department_id == Department.id)))
    assert departments
    assert departments - taking == set()


def test_it_has_a_department_for_every_item_in_every_town_or_at_the_city(city_session):
    rows = load_areas(city_session)
    items = set(city_session.scalars(select(Item.id)))
    taken_at = defaultdict(set)
    for area_id, item_id in city_session.execute(
            select(Department.area_id, department_item.c.item_id)
            .join(department_item, department_item.c.department_id == Department.id)):
        taken_at[area_id].add(item_id)
    [city] = by_level(rows, AreaLevel.CITY)
    towns = by_level(rows, AreaLevel.TOWN)
    assert len(towns) == TOWNS
    uncovered = {t.name_zh: items - taken_at[t.id] - taken_at[city.id] for t in towns}
    uncovered = {k: v for k, v in uncovered.items() if v}
    assert not uncovered


# ------------------------------------------------------------------ determinism

def test_it_plans_identical_areas_from_the_same_seed(plan_2024):
    again = plan(SEED)
    assert len(plan_2024.areas) == 1 + TOWNS + VILLAGES + GRIDS
    assert first_difference(plan_2024.areas, again.areas) is None


def test_it_stores_exactly_the_areas_it_planned(city_session, plan_2024):
    columns = ("id", "level", "code", "code_official", "name_zh", "name_en", "parent_id",
               "city_id", "town_id", "village_id", "geometry", "geometry_simplified")
    stored = [dict(zip(columns, r)) for r in city_session.execute(
        select(*(getattr(Area, c) for c in columns)).order_by(Area.id)).all()]
    planned = [{c: a[c] for c in columns} for a in plan_2024.areas]
    assert first_difference(planned, stored) is None


def test_it_plans_different_villages_from_a_different_seed(plan_2024):
    other = plan(SEED + 1)
    # Towns are real data, so they do not depend on the seed...
    town, village = AreaLevel.TOWN, AreaLevel.VILLAGE
    assert first_difference(plan_2024.of_level(town), other.of_level(town)) is None
    assert len(other.of_level(village)) == VILLAGES
    assert len(other.of_level(AreaLevel.GRID)) == GRIDS
    # ...but the generated villages do, in both their names and their borders.
    for key in ("name_zh", "geometry"):
        assert [a[key] for a in plan_2024.of_level(village)] != [a[key] for a in other.of_level(village)]


# ------------------------------------------------------------------ names

def test_it_gives_villages_chinese_names_ending_in_village_or_community(city_session):
    villages = by_level(load_areas(city_session), AreaLevel.VILLAGE)
    assert len(villages) == VILLAGES
    bad = [v.name_zh for v in villages
           if not v.name_zh or ASCII_LETTER_OR_DIGIT.search(v.name_zh)
           or not v.name_zh.endswith(("村", "社区"))]
    assert not bad, bad[:5]
    # Names are unique within a town.
    per_town = defaultdict(list)
    for v in villages:
        per_town[v.parent_id].append(v.name_zh)
    assert all(len(set(n)) == len(n) for n in per_town.values())


def test_it_names_each_grid_after_its_village_and_number(city_session):
    rows = load_areas(city_session)
    by_id = {r.id: r for r in rows}
    grids = by_level(rows, AreaLevel.GRID)
    assert len(grids) == GRIDS
    bad = []
    for g in grids:
        village = by_id[g.parent_id]
        # e.g. 新围村第3网格 (seed.names.grid_name): the grid's number is its only ASCII.
        match = re.fullmatch(re.escape(village.name_zh) + r"第(\d+)网格", g.name_zh)
        if (not g.name_zh or ASCII_LETTER.search(g.name_zh) or not g.name_zh.endswith("网格")
                or match is None or int(match.group(1)) != int(g.code[len(village.code):])
                or ASCII_LETTER_OR_DIGIT.search(village.name_zh)):
            bad.append((g.code, g.name_zh))
    assert not bad, bad[:5]
