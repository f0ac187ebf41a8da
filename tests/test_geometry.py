"""Tests for seed.geometry and seed.names against the real Dongguan town boundaries."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
import shapely

from seed.geometry import (
    allocate,
    from_geojson,
    load_town_features,
    partition,
    simplify_for_screen,
    to_geojson,
)
from seed.names import grid_name, is_community, village_names

TOWNS_FILE = Path(__file__).resolve().parents[1] / "seed" / "data" / "geo" / "dongguan_towns.geojson"
MULTIPOLYGON_TOWN = "东城街道"
POLYGON_TOWN = "茶山镇"


@pytest.fixture(scope="module")
def towns() -> dict[str, shapely.Geometry]:
    if not TOWNS_FILE.exists():
        pytest.fail(f"real town boundaries are missing: expected {TOWNS_FILE}")
    return dict(load_town_features(TOWNS_FILE))


def assert_tiles(cells: list, parent, n: int) -> None:
    assert len(cells) == n
    assert all(not c.is_empty and c.is_valid for c in cells)
    assert all(c.geom_type in ("Polygon", "MultiPolygon") for c in cells)
    assert sum(c.area for c in cells) == pytest.approx(parent.area, rel=1e-6)
    assert shapely.union_all(cells).area == pytest.approx(parent.area, rel=1e-6)
    assert total_overlap(cells) < 1e-9 * parent.area
    container = parent.buffer(1e-9)
    assert all(container.contains(c) for c in cells)


def total_overlap(cells: list) -> float:
    return sum(a.intersection(b).area for a, b in itertools.combinations(cells, 2) if a.intersects(b))


def wkb(cells: list) -> list[bytes]:
    return [shapely.to_wkb(c) for c in cells]


# --- towns file ---------------------------------------------------------------


def test_it_loads_all_35_towns_in_file_order_as_valid_polygons(towns):
    assert len(towns) == 35
    assert next(iter(towns)) == "茶山镇"
    assert all(g.is_valid and g.geom_type in ("Polygon", "MultiPolygon") for g in towns.values())
    assert towns[MULTIPOLYGON_TOWN].geom_type == "MultiPolygon"
    assert towns[POLYGON_TOWN].geom_type == "Polygon"


# --- allocate -----------------------------------------------------------------


def test_it_allocates_exactly_the_total_proportionally():
    counts = allocate(100, [1, 2, 3, 4])
    assert counts == [10, 20, 30, 40]


def test_it_allocates_by_largest_remainder():
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(allocate(593, np.random.default_rng(0).random(35), minimum=3)) == 593


def test_it_allocates_at_least_the_minimum_to_tiny_weights():
    counts = allocate(50, [1000, 1, 1, 0], minimum=3)
    assert sum(counts) == 50
    assert min(counts) >= 3
    assert counts[0] == 41


def test_it_refuses_an_impossible_allocation():
    with pytest.raises(ValueError):
        allocate(5, [1, 1, 1], minimum=2)
    with pytest.raises(ValueError):
        allocate(5, [0, 0])
    with pytest.raises(ValueError):
        allocate(5, [1, -1])


# --- partition ----------------------------------------------------------------


def test_it_partitions_a_real_multipolygon_town_into_tiles(towns):
    town = towns[MULTIPOLYGON_TOWN]
    assert_tiles(partition(town, 17, np.random.default_rng(1)), town, 17)


def test_it_partitions_a_real_polygon_town_into_tiles(towns):
    town = towns[POLYGON_TOWN]
    assert_tiles(partition(town, 12, np.random.default_rng(2)), town, 12)


def test_it_partitions_a_generated_village_into_grids(towns):
    village = partition(towns[POLYGON_TOWN], 12, np.random.default_rng(3))[5]
    assert_tiles(partition(village, 6, np.random.default_rng(4)), village, 6)


def test_it_returns_the_polygon_itself_for_one_cell(towns):
    town = towns[POLYGON_TOWN]
    assert partition(town, 1, np.random.default_rng(0)) == [town]


def test_it_orders_cells_north_to_south(towns):
    cells = partition(towns[POLYGON_TOWN], 12, np.random.default_rng(5))
    assert cells[0].centroid.y > cells[-1].centroid.y


def test_it_partitions_identically_for_the_same_seed(towns):
    town = towns[MULTIPOLYGON_TOWN]
    first = partition(town, 9, np.random.default_rng(7))
    second = partition(town, 9, np.random.default_rng(7))
    assert wkb(first) == wkb(second)


def test_it_partitions_differently_for_a_different_seed(towns):
    town = towns[MULTIPOLYGON_TOWN]
    first = partition(town, 9, np.random.default_rng(7))
    other = partition(town, 9, np.random.default_rng(8))
    assert wkb(first) != wkb(other)


# --- simplify and storage -----------------------------------------------------


def test_it_simplifies_a_real_town_to_fewer_vertices(towns):
    town = towns["塘厦镇"]
    simple = simplify_for_screen(town, 0.0005)
    assert not simple.is_empty and simple.is_valid
    assert shapely.get_num_coordinates(simple) < shapely.get_num_coordinates(town)


def test_it_never_simplifies_to_an_empty_geometry(towns):
    for town in towns.values():
        assert not simplify_for_screen(town, 1.0).is_empty
    speck = shapely.box(113.7, 23.0, 113.7000001, 23.0000001)
    assert not simplify_for_screen(speck, 1.0).is_empty


def test_it_round_trips_geojson_with_rounded_coordinates(towns):
    town = towns[MULTIPOLYGON_TOWN]
    data = to_geojson(town, precision=6)
    assert data["type"] == "MultiPolygon"
    x = data["coordinates"][0][0][0][0]
    assert x == round(x, 6)
    back = from_geojson(data)
    assert back.is_valid
    assert back.area == pytest.approx(town.area, rel=1e-4)
    assert shapely.hausdorff_distance(back, town) < 1e-5


# --- names --------------------------------------------------------------------


def test_it_names_villages_uniquely_without_latin_letters_or_digits():
    names = village_names(np.random.default_rng(0), 60, "塘厦镇")
    assert len(set(names)) == 60
    assert not any(re.search(r"[A-Za-z0-9]", n) or not n.isprintable() for n in names)
    assert all(n.endswith(("村", "社区")) and len(n) >= 3 for n in names)


def test_it_names_towns_mostly_villages_and_subdistricts_mostly_communities():
    town = village_names(np.random.default_rng(1), 200, "茶山镇")
    subdistrict = village_names(np.random.default_rng(1), 200, "东城街道")
    assert 0.55 < sum(not is_community(n) for n in town) / 200 < 0.85
    assert sum(is_community(n) for n in subdistrict) / 200 > 0.8


def test_it_names_only_communities_in_committees_and_the_eco_park():
    for unit in ("松山湖管委会", "东莞生态园"):
        assert all(is_community(n) for n in village_names(np.random.default_rng(2), 30, unit))


def test_it_names_villages_identically_for_the_same_seed():
    first = village_names(np.random.default_rng(9), 25, "石龙镇")
    assert first == village_names(np.random.default_rng(9), 25, "石龙镇")


def test_it_names_grids_with_a_one_based_index():
    assert grid_name("新围村", 3) == "新围村第3网格"
    with pytest.raises(ValueError):
        grid_name("新围村", 0)


def test_it_tells_communities_from_villages():
    assert is_community("上沙社区")
    assert not is_community("上沙村")
