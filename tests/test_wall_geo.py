"""The wall's map: children's boundaries from the real city, values from hotspots, the figure
and the patch that recolours it."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import plotly.graph_objects as go
import pytest
from shapely.geometry import Point, box, shape
from sqlalchemy import select

from dashboard.wall import geo
from models import lifecycle
from models.actor import Actor
from models.area import Area
from models.catalogue import Item
from seed.geometry import to_geojson
from workers import hotspots

NOW = datetime(2026, 3, 2, 4, 7, tzinfo=UTC)
POLYGONS = {"Polygon", "MultiPolygon"}


def get_area(session, **where) -> Area:
    area = session.scalar(select(Area).filter_by(**where).order_by(Area.code).limit(1))
    assert area is not None, f"the reference city has no area with {where}"
    return area


def list_child_codes(session, area_id: int) -> list[str]:
    return sorted(session.scalars(select(Area.code).where(Area.parent_id == area_id)))


def make_area(area_id: int, code: str, geom, *, name_en: str | None = None,
              simplified: bool = True) -> Area:
    geojson = to_geojson(geom)
    return Area(id=area_id, level="town", code=code, name_zh=f"镇{code}", name_en=name_en,
                geometry=geojson, geometry_simplified=geojson if simplified else None)


def make_map() -> geo.Map:
    children = [make_area(12, "B", box(1, 0, 2, 1)), make_area(11, "A", box(0, 0, 1, 1), name_en="Alpha"),
                make_area(13, "C", box(2, 0, 3, 1))]
    return geo.build_children_map(1, children)


def draw(area_map: geo.Map, values: dict, mode: str, lang: str) -> go.Figure:
    """The map as the page draws it, validated by plotly (build_map_figure returns a dict).
    The figure names its boundaries; the browser (wall.js) resolves the name to the
    boundaries the page carries, and so does this."""
    figure = geo.build_map_figure(area_map, geo.map_style(values, area_map.ids, mode, lang), lang)
    trace = figure["data"][0]
    assert trace["geojson"] == area_map.key, "the figure names the page's boundaries"
    return go.Figure({**figure, "data": [{**trace, "geojson": json.loads(area_map.geometry)}]})


def report_in(session, grid: Area, at: datetime, item_id: int, times: int = 1) -> None:
    for _ in range(times):
        lifecycle.report(session, Actor.system("t"), item_id=item_id, area_id=grid.id,
                         description="test", channel="hotline", now=at)
    session.commit()


# ---------------------------------------------------------------- the children's boundaries

def test_it_draws_the_35_towns_on_the_city_wall(city_session):
    city = get_area(city_session, level="city")
    area_map = geo.load_children_map(city_session, city.id)
    ids = [feature["id"] for feature in area_map.features["features"]]
    assert len(ids) == 35 and all(code.startswith("4419") for code in ids)
    assert ids == list(area_map.codes) == list_child_codes(city_session, city.id)
    assert area_map.level == "town" and len(set(area_map.ids)) == 35
    assert {f["geometry"]["type"] for f in area_map.features["features"]} <= POLYGONS
    assert "Humen" in area_map.names_en and "虎门镇" in area_map.names_zh


def test_it_draws_exactly_the_villages_of_a_town(city_session):
    town = get_area(city_session, level="town")
    area_map = geo.load_children_map(city_session, town.id)
    villages = list_child_codes(city_session, town.id)
    assert len(villages) >= 3 and list(area_map.codes) == villages
    assert [f["id"] for f in area_map.features["features"]] == villages
    assert area_map.level == "village"
    assert area_map.names_en == area_map.names_zh  # villages have no English names: Chinese


def test_it_draws_the_grids_of_a_village(city_session):
    village = get_area(city_session, level="village")
    area_map = geo.load_children_map(city_session, village.id)
    assert list(area_map.codes) == list_child_codes(city_session, village.id)
    assert area_map.level == "grid" and all(c.startswith(village.code) for c in area_map.codes)


def test_it_keeps_every_wall_map_within_the_page_budget(city_session):
    city = get_area(city_session, level="city")
    city_size = geo.load_children_map(city_session, city.id).json_size
    assert 20_000 < city_size <= geo.MAP_BUDGET
    parents = city_session.scalars(select(Area.id).where(Area.level.in_(["town", "village"])))
    sizes = [geo.load_children_map(city_session, area_id).json_size for area_id in parents]
    assert len(sizes) == 35 + 593 and max(sizes) <= geo.MAP_BUDGET // 4


def test_the_map_ids_without_the_map_are_the_maps_own(city_session):
    """The slow-panel refresh colours the map by `load_map_ids`; a process that has not built
    the map reads them without its geometry. They must be the map's order exactly."""
    parents = list(city_session.scalars(select(Area.id).where(Area.level.in_(["city", "town", "village"]))))
    before = {area_id: geo.load_map_ids(city_session, area_id) for area_id in parents}  # no map built
    assert len(before) == 1 + 35 + 593 and all(before.values())
    for area_id in parents:
        assert geo.load_children_map(city_session, area_id).ids == before[area_id], area_id
    city = get_area(city_session, level="city")
    assert geo.load_map_ids(city_session, city.id) is geo.load_children_map(city_session, city.id).ids


def test_a_warmed_process_draws_the_city_and_town_walls_without_sql(city_session):
    from sqlalchemy import event
    village = get_area(city_session, level="village")
    city, town = get_area(city_session, level="city"), get_area(city_session, level="town")
    assert geo.warm_maps(city_session) == 1 + 35
    engine, statements = city_session.get_bind(), []

    def note(_conn, _cursor, statement, *_):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert geo.load_children_map(city_session, city.id).codes
        assert geo.load_children_map(city_session, town.id).codes
        assert statements == [], "the city's and towns' maps were built before the first page"
        geo.load_children_map(city_session, village.id)
        assert statements, "a village's map is built by its first page"
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_it_builds_a_map_once_per_area(city_session):
    town = get_area(city_session, level="town")
    first = geo.load_children_map(city_session, town.id)
    assert geo.load_children_map(city_session, town.id) is first
    assert geo.load_children_map(city_session, town.parent_id) is not first


def test_it_simplifies_detailed_boundaries_until_they_fit_the_budget():
    circles = [make_area(i, f"T{i}", Point(i, 0).buffer(0.4, quad_segs=2000), simplified=False)
               for i in range(1, 4)]
    assert geo.json_size(geo.build_features(circles, budget=10**9)) > 300_000
    area_map = geo.build_children_map(1, circles, budget=20_000)
    assert area_map.json_size <= 20_000 and area_map.codes == ("T1", "T2", "T3")
    for area, feature in zip(circles, area_map.features["features"]):
        drawn = shape(feature["geometry"])
        assert drawn.is_valid and drawn.area == pytest.approx(shape(area.geometry).area, rel=0.01)


def test_it_uses_the_stored_screen_shapes_when_they_fit():
    simplified = to_geojson(box(0, 0, 1, 1), 5)
    area = make_area(1, "A", box(0, 0, 1, 1))
    area.geometry_simplified = simplified
    assert geo.build_features([area])["features"][0]["geometry"] is simplified


# ---------------------------------------------------------------- values from hotspots

@pytest.fixture
def reports(city_session, redis):
    """Town A: 3 reports in the last hour and 1 a day and a half ago; town B: 2 two hours ago."""
    item_id = city_session.scalar(select(Item.id).limit(1))
    towns = city_session.scalars(select(Area).where(Area.level == "town").order_by(Area.code).limit(2)).all()
    grids = [get_area(city_session, level="grid", town_id=town.id) for town in towns]
    report_in(city_session, grids[0], NOW - timedelta(minutes=20), item_id, times=3)
    report_in(city_session, grids[0], NOW - timedelta(hours=36), item_id)
    report_in(city_session, grids[1], NOW - timedelta(hours=2), item_id, times=2)
    hotspots.run_hotspot_steps(city_session, redis, now=NOW)
    return towns, grids


def test_it_reads_the_last_24_hours_of_reports_per_child(city_session, redis, reports):
    (town_a, town_b), (grid_a, _) = reports
    city_id = town_a.parent_id
    assert geo.read_map_values(redis, city_id, "city", "count", now=NOW) == {town_a.id: 3.0,
                                                                             town_b.id: 2.0}
    assert geo.read_map_values(redis, town_a.id, "town", "count", now=NOW) == {grid_a.village_id: 3.0}
    assert geo.read_map_values(redis, grid_a.village_id, "village", "count", now=NOW) == {grid_a.id: 3.0}


def test_it_reads_the_anomaly_score_of_the_last_hour(city_session, redis, reports):
    (town_a, town_b), _ = reports
    values = geo.read_map_values(redis, town_a.parent_id, "city", "anomaly", now=NOW)
    assert values[town_a.id] == pytest.approx(hotspots.anomaly_score(3, 0.0), abs=1e-3)
    assert values[town_a.id] > 2 and values[town_b.id] == 0.0  # B's reports are 2 h old


def test_it_refuses_an_unknown_mode_or_a_wall_without_children(redis):
    with pytest.raises(ValueError):
        geo.read_map_values(redis, 1, "city", "total")
    with pytest.raises(ValueError):
        geo.read_map_values(redis, 1, "grid", "count")
    assert [geo.child_level(level) for level in ("city", "town", "village", "grid")] == [
        "town", "village", "grid", None]


# ---------------------------------------------------------------- the figure and its patch

def test_it_colours_the_children_in_code_order_with_zero_for_missing():
    area_map = make_map()
    figure = draw(area_map, {13: 7.0, 11: 2.0, 99: 5.0}, "count", "zh")
    trace = figure.data[0]
    assert list(trace.locations) == list(trace.customdata) == ["A", "B", "C"]
    assert list(trace.z) == [2.0, 0.0, 7.0]
    assert [f["id"] for f in trace.geojson["features"]] == ["A", "B", "C"]
    assert trace.zmin == 0 and trace.zmax == 8.0  # 7 rounded up to the legend's next step


def test_it_draws_on_a_dark_background_without_a_basemap():
    layout = draw(make_map(), {}, "count", "zh").layout
    assert layout.geo.visible is False and layout.geo.fitbounds == "locations"
    assert layout.paper_bgcolor == geo.BACKGROUND and layout.dragmode is False
    assert (layout.margin.l, layout.margin.r, layout.margin.t, layout.margin.b) == (0, 0, 0, 0)
    assert geo.MAP_CONFIG["displayModeBar"] is False


def test_it_gives_plotly_an_empty_topology_instead_of_a_download():
    # plotly.js asks for `${topojsonURL}/world_110m.json` (geo getTopojsonPath).
    url = geo.MAP_CONFIG["topojsonURL"] + "/world_110m.json"
    scheme, _, body = url.partition(",")
    assert scheme == "data:application/json"
    assert json.loads(unquote(body.split("#")[0])) == {"type": "Topology", "objects": {}, "arcs": []}


@pytest.mark.parametrize("mode, lang, title", [
    ("count", "zh", "近24小时上报"), ("count", "en", "Reports, last 24 h"),
    ("anomaly", "zh", "异常度"), ("anomaly", "en", "Anomaly score")])
def test_it_titles_the_colour_bar_by_mode_and_language(mode, lang, title):
    trace = draw(make_map(), {11: 1.0}, mode, lang).data[0]
    assert trace.colorbar.title.text == title and title in trace.hovertemplate
    assert list(trace.text) == (["Alpha", "镇B", "镇C"] if lang == "en" else ["镇A", "镇B", "镇C"])


def test_it_scales_anomalies_to_a_fixed_range_and_counts_to_their_peak():
    area_map = make_map()
    anomaly = draw(area_map, {11: 9.0}, "anomaly", "en").data[0]
    quiet = draw(area_map, {11: 1.0}, "count", "en").data[0]
    assert (anomaly.zmin, anomaly.zmax) == (0, geo.ANOMALY_MAX) and list(anomaly.z) == [9.0, 0, 0]
    assert quiet.zmax == geo.COUNT_FLOOR  # one report is not the brightest colour


@pytest.mark.parametrize("value, top", [
    (5, 5), (7, 8), (8.01, 10), (10, 10), (11, 15), (1234, 1500), (1500, 1500), (1501, 2000),
    (0.7, 0.8), (0.3, 0.3), (99_001, 100_000)])
def test_a_count_scale_ends_on_a_round_number_at_or_above_its_peak(value, top):
    assert geo.nice_ceiling(value) == pytest.approx(top)


def test_the_legend_stays_put_while_counts_creep_up():
    # plotly measures each tick label at its position and keeps the measurement: a top
    # that moved with every report would move every tick (and grow that cache) each refresh.
    tops = {draw(make_map(), {11: float(n)}, "count", "en").data[0].zmax
            for n in range(301, 400)}
    assert tops == {400.0}


def test_a_scale_top_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        geo.nice_ceiling(0)


def test_a_refresh_sends_only_the_colours():
    area_map = make_map()
    figure = geo.build_map_figure(area_map, geo.map_style({11: 1.0}, area_map.ids, "count", "zh"), "zh")
    geometry = json.dumps(figure["data"][0]["geojson"])
    style = geo.map_style({12: 4.0, 13: 9.0}, area_map.ids, "anomaly", "en")
    assert "geojson" not in json.dumps(style) and "locations" not in style
    refreshed = go.Figure({**figure, "data": [{**figure["data"][0], **style}]}).data[0]
    assert list(refreshed.z) == [0.0, 4.0, 9.0]
    assert refreshed.colorbar.title.text == "Anomaly score"
    assert refreshed.zmax == geo.ANOMALY_MAX and json.dumps(refreshed.geojson) == geometry


def test_a_maps_name_changes_with_its_boundaries():
    area_map = make_map()
    assert area_map.key == geo.geometry_key(1, area_map.geometry) and area_map.key.startswith("grid-map:1:")
    assert geo.geometry_key(1, area_map.geometry.replace("1", "2")) != area_map.key
    assert geo.geometry_key(2, area_map.geometry) != area_map.key


def test_it_refuses_codes_where_area_ids_are_expected():
    area_map = make_map()
    with pytest.raises(TypeError):
        geo.map_style({11: 1.0}, area_map.codes, "count", "zh")

