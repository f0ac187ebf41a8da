"""The wall's map panel: the children of the wall's area (towns on the city wall, villages on
a town wall, grids on a village wall), coloured by reports in the last 24 hours or by how
unusual the last hour is.

The map is a plotly choropleth on an invisible geo subplot: the only shapes drawn are our
own boundaries, with no tile server, basemap or web font, because a wall may have no
internet. One catch: plotly.js (4.1.1, geo `plot`) fetches a world topojson for every geo
subplot whose trace has a `locationmode`, and a choropleth always has one ("geojson-id"
here), even with `geo.visible` False. MAP_CONFIG points `topojsonURL` at an empty topology
inside a data: URL; the "#" at its end turns the file name plotly appends into a fragment,
so the browser reads the topology from the URL itself and nothing leaves the machine.
Pass MAP_CONFIG as the dcc.Graph's config.

The boundaries are built once per area per process (they never change while running) and
kept within MAP_BUDGET bytes of JSON, so a wall's page stays light. They are encoded to JSON
then too (`Map.geometry`): the page carries that string beside the figure
(dashboard/wall/pages.py), and the figure's `geojson` is only its name (`Map.key`,
"grid-map:<area id>:<digest>"), which assets/wall.js resolves for plotly.js from the page
(window.PlotlyGeoAssets, where plotly.js looks a string geojson up before it would fetch it
as a URL). So Dash's page callback escapes one string instead of encoding ~100 kB of
coordinates on every first load (8 ms of the city's 12 on a quiet host), and nothing extra
is fetched. Refreshes send only the colours (`map_style`, in the wall's panels state).
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.area import Area
from models.types import utcnow
from seed.geometry import simplify_for_screen, to_geojson
from workers.hotspots import read_children_windows

CHILD_LEVEL = {"city": "town", "town": "village", "village": "grid"}
MAP_BUDGET = 300_000            # bytes of geometry JSON on one wall
PRECISION = 5                   # decimals of a degree: about 1 m
FIRST_TOLERANCE = 0.0005        # degrees, when the stored simplified shapes are over budget
LAST_TOLERANCE = 0.02           # give up simplifying further past this (about 2 km)
CACHE_SIZE = 1024               # more than the 629 areas that have children in the city

MODES = ("count", "anomaly")
TITLES = {("count", "zh"): "近24小时上报", ("count", "en"): "Reports, last 24 h",
          ("anomaly", "zh"): "异常度", ("anomaly", "en"): "Anomaly score"}
COUNT_FLOOR = 5                 # the brightest colour means at least this many reports
# A count scale ends on one of these (× a power of ten) at or above the largest count, so the
# legend's ticks stay put while counts creep up: an operator reads a steady legend, and the
# browser does not measure new tick positions every refresh (plotly caches each text
# measurement by text and position, so a top that moves with every report fills that cache).
NICE_STEPS = (1, 1.5, 2, 3, 4, 5, 6, 8, 10)
ANOMALY_MAX = 6.0               # -log10 p: 2 is a 1-in-100 hour, 6 one in a million
# Zero is a dim slate, so quiet areas stay quiet on a dark wall; counts run cool (blue to
# yellow), anomalies run to the wall's alarm colours (amber, red).
COUNT_SCALE = [[0.0, "#1e293b"], [0.2, "#1e40af"], [0.55, "#0891b2"], [0.8, "#67e8f9"],
               [1.0, "#fde047"]]
ANOMALY_SCALE = [[0.0, "#1e293b"], [0.3, "#713f12"], [0.5, "#f59e0b"], [0.75, "#ea580c"],
                 [1.0, "#ef4444"]]
BACKGROUND = "#0b1220"
INK = "#e2e8f0"
BORDER = "#64748b"
FONT_SIZE = 20                  # px; callers may patch layout.font.size to scale the wall

EMPTY_TOPOLOGY = {"type": "Topology", "objects": {}, "arcs": []}
TOPOJSON_URL = ("data:application/json,"
                + quote(json.dumps(EMPTY_TOPOLOGY, separators=(",", ":"))) + "#")
MAP_CONFIG = {"displayModeBar": False, "scrollZoom": False, "doubleClick": False,
              "responsive": True, "topojsonURL": TOPOJSON_URL}


@dataclass(frozen=True)
class Map:
    """The children of one area, in code order. Shared by every caller (cached): don't mutate."""

    area_id: int
    level: str                      # the children's level
    geometry: str                   # GeoJSON FeatureCollection as compact JSON, as the page
                                    # carries it; feature "id" = child code
    key: str                        # the figure's name for it: "grid-map:<area_id>:<digest>"
    ids: tuple[int, ...]
    codes: tuple[str, ...]
    names_zh: tuple[str, ...]
    names_en: tuple[str, ...]       # Chinese where a child has no English name

    @property
    def features(self) -> dict:
        """The FeatureCollection, decoded anew (only the JSON is kept per process)."""
        return json.loads(self.geometry)

    @property
    def json_size(self) -> int:
        return len(self.geometry.encode())


def child_level(level: str) -> str | None:
    """The level drawn on a wall of `level`: city -> town -> village -> grid."""
    return CHILD_LEVEL.get(str(level))


# ---------------------------------------------------------------- geometry

def compact_json(data) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def json_size(data) -> int:
    """Bytes of compact JSON, as the page would carry it."""
    return len(compact_json(data).encode())


def geometry_key(area_id: int, geometry: str) -> str:
    """The boundaries' name in a figure: the area, and a digest, so a page that outlives a
    server with other boundaries never draws the old ones under the new name."""
    return f"grid-map:{area_id}:{hashlib.blake2b(geometry.encode(), digest_size=6).hexdigest()}"


def build_geometry(area: Area, tolerance: float) -> dict | None:
    """The stored screen shape as is, or simplified further when `tolerance` > 0."""
    geometry = area.geometry_simplified or area.geometry
    if geometry is None:
        return None
    if tolerance <= 0 and area.geometry_simplified is not None:
        return geometry
    return to_geojson(simplify_for_screen(shape(geometry), tolerance), PRECISION)


def build_features(children: list[Area], budget: int = MAP_BUDGET) -> dict:
    """FeatureCollection of the children that have a boundary, doubling the simplification
    tolerance until it fits in `budget` bytes (or simplifying stops paying)."""
    return fit_features(children, budget)[0]


def fit_features(children: list[Area], budget: int = MAP_BUDGET) -> tuple[dict, str]:
    """`build_features`, with the compact JSON its last size check encoded."""
    tolerance = 0.0
    while True:
        features = [{"type": "Feature", "id": area.code, "geometry": geometry}
                    for area in children
                    if (geometry := build_geometry(area, tolerance)) is not None]
        collection = {"type": "FeatureCollection", "features": features}
        encoded = compact_json(collection)
        if len(encoded.encode()) <= budget or tolerance >= LAST_TOLERANCE:
            return collection, encoded
        tolerance = tolerance * 2 if tolerance else FIRST_TOLERANCE


def build_children_map(area_id: int, children: list[Area], budget: int = MAP_BUDGET) -> Map:
    children = sorted(children, key=lambda area: area.code)
    features, geometry = fit_features(children, budget)
    drawn = {feature["id"] for feature in features["features"]}
    children = [area for area in children if area.code in drawn]
    level = str(children[0].level) if children else ""
    return Map(area_id=area_id, level=level, geometry=geometry,
               key=geometry_key(area_id, geometry),
               ids=tuple(area.id for area in children),
               codes=tuple(area.code for area in children),
               names_zh=tuple(area.name_zh for area in children),
               names_en=tuple(area.name_en or area.name_zh for area in children))


def list_children(session: Session, area_id: int) -> list[Area]:
    return list(session.scalars(select(Area).where(Area.parent_id == area_id).order_by(Area.code)))


_maps: OrderedDict[tuple[str, int], Map] = OrderedDict()
_maps_lock = threading.Lock()


def load_children_map(session: Session, area_id: int) -> Map:
    """The map of `area_id`'s children, built on first use and then kept for the process.
    Keyed by database as well as area id, so two databases in one process never mix."""
    key = (str(session.get_bind().url), area_id)
    with _maps_lock:
        found = _maps.get(key)
        if found is not None:
            _maps.move_to_end(key)
            return found
    return _remember(_maps, key, build_children_map(area_id, list_children(session, area_id)))


def warm_maps(session: Session, levels: tuple[str, ...] = ("city", "town")) -> int:
    """Build the maps of every area of `levels` now, so the first page of those walls in
    this process does not (the city's: ~60 ms of SQL and simplification on a quiet host).
    A worker calls it before it serves; village walls' maps are a few ms each and are left
    to their first page. Returns the number of maps built."""
    area_ids = session.scalars(select(Area.id).where(Area.level.in_(levels)).order_by(Area.code)).all()
    for area_id in area_ids:
        load_children_map(session, area_id)
    return len(area_ids)


def _remember(cache: OrderedDict, key, value):
    """Keep `value` in one of this module's per-process caches, dropping the oldest past
    CACHE_SIZE."""
    with _maps_lock:
        cache[key] = value
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return value


_ids: OrderedDict[tuple[str, int], tuple[int, ...]] = OrderedDict()


def load_map_ids(session: Session, area_id: int) -> tuple[int, ...]:
    """`load_children_map(session, area_id).ids` (the children drawn, in code order) without
    building the map's geometry when this process has not built it: the slow-panel refresh
    needs only the order of the colours, and a process that did not serve the page would
    otherwise simplify every boundary (~40 ms at the city) in a callback budgeted 50 ms."""
    key = (str(session.get_bind().url), area_id)
    with _maps_lock:
        found = _maps.get(key)
        ids = found.ids if found is not None else _ids.get(key)
    if ids is not None:
        return ids
    return _remember(_ids, key, tuple(session.scalars(
        select(Area.id).where(Area.parent_id == area_id)
        .where((Area.geometry_simplified.is_not(None)) | (Area.geometry.is_not(None)))
        .order_by(Area.code))))


# ---------------------------------------------------------------- values

def read_map_values(redis, area_id: int, level: str, mode: str,
                    now: datetime | None = None) -> dict[int, float]:
    """Value per child area id of the wall of `area_id` (a wall of `level`): "count" is the
    reports of the last 24 h, "anomaly" the score of the last hour (`workers.hotspots`).
    Children with no report in the hotspot buckets are absent (draw them as 0). Both modes
    come from one Redis script over only their windows' buckets (`read_children_windows`):
    `read_hotspots` computes every window and score of every child, which cost the city's
    map ~90 ms of its 50 ms budget."""
    return read_map_modes(redis, area_id, level, (mode,), now)[mode]


def read_map_modes(redis, area_id: int, level: str, modes: tuple[str, ...] = MODES,
                   now: datetime | None = None) -> dict[str, dict[int, float]]:
    """`read_map_values` for each of `modes`, from one read of the wall's children."""
    child = child_level(level)
    if child is None or not set(modes) <= set(MODES):
        raise ValueError(f"no map for a {level!r} wall in mode {modes!r}")
    now = now or utcnow()
    children = read_children_windows(redis, child, area_id, now)
    value_of = {"count": "count_24h", "anomaly": "score"}
    return {mode: {c["area_id"]: float(c[value_of[mode]]) for c in children} for mode in modes}


def build_z(values: dict[int, float], ids) -> list[float]:
    """Values in map order, 0 for children with none. `ids` are child area ids (Map.ids)."""
    if any(not isinstance(area_id, int) for area_id in ids):
        raise TypeError("map values are keyed by child area id: pass Map.ids, not Map.codes")
    return [values.get(area_id, 0.0) for area_id in ids]


# ---------------------------------------------------------------- figure

def nice_ceiling(value: float) -> float:
    """The smallest NICE_STEPS value × 10^k at or above `value` (positive): 7 → 8, 1234 → 1500."""
    if value <= 0:
        raise ValueError(f"a scale's top must be positive, not {value!r}")
    power = 10.0 ** math.floor(math.log10(value))  # power <= value < 10 * power
    # NICE_STEPS ends at 10, so one step always reaches value (1e-9: log10's rounding).
    return next(float(round(step * power, 9)) for step in NICE_STEPS
                if step * power >= value * (1 - 1e-9))


def build_mode_style(z: list[float], mode: str, lang: str) -> dict:
    """The trace properties that change with the mode (and, for counts, with the values)."""
    title = TITLES[(mode, lang)]
    if mode == "count":
        top = nice_ceiling(max([COUNT_FLOOR, *z]))
        colorbar = {"tickformat": ",d"}
        scale, value = COUNT_SCALE, "%{z:,.0f}"
    else:
        top = ANOMALY_MAX
        colorbar = {"tickvals": [0, 2, 4, 6], "ticktext": ["0", "2", "4", "≥6"]}
        scale, value = ANOMALY_SCALE, "%{z:.1f}"
    colorbar.update(title={"text": title, "side": "top"}, thickness=18, len=0.45,
                    x=0.99, xanchor="right", y=0.02, yanchor="bottom",
                    bgcolor="rgba(11,18,32,0.7)", outlinewidth=0)
    return {"zmin": 0, "zmax": top, "colorscale": scale, "colorbar": colorbar,
            "hovertemplate": f"<b>%{{text}}</b><br>{title}: {value}<extra></extra>"}


def map_style(values: dict[int, float], ids, mode: str, lang: str) -> dict:
    """The trace's values in map order and the mode's colour settings: what a refresh sends."""
    z = build_z(values, ids)
    return {"z": z, **build_mode_style(z, mode, lang)}


def build_map_figure(area_map: Map, style: dict, lang: str, *, font_size: int = FONT_SIZE) -> dict:
    """One choropleth of the children, coloured by `style` (`map_style`), as a plotly figure
    dict: building a graph_objects.Figure validated all of the geometry, 100-500 ms of a
    wall's first load on a busy host (the tests validate it with plotly instead).
    customdata carries each child's code for drill-down clicks. The trace's geojson is the
    boundaries' name (`Map.key`): the page must carry `Map.geometry` under it (pages.py),
    for wall.js to resolve. The caller passes MAP_CONFIG (no modebar, no topojson fetch) to
    dcc.Graph."""
    names = area_map.names_en if lang == "en" else area_map.names_zh
    trace = {"type": "choropleth", "geojson": area_map.key, "featureidkey": "id",
             "locations": list(area_map.codes), "customdata": list(area_map.codes),
             "text": list(names), "marker": {"line": {"color": BORDER, "width": 1}}, **style}
    layout = {"geo": {"visible": False, "fitbounds": "locations", "projection": {"type": "mercator"},
                      "bgcolor": "rgba(0,0,0,0)"},
              "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "paper_bgcolor": BACKGROUND,
              "plot_bgcolor": BACKGROUND, "dragmode": False, "font": {"color": INK, "size": font_size},
              "hoverlabel": {"font": {"size": round(font_size * 1.2)}}, "uirevision": area_map.area_id}
    return {"data": [trace], "layout": layout}
