"""Pure geometry helpers for generating the village and grid layers inside real towns.

Coordinates are lon/lat degrees throughout. Nothing here touches the database.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry

_KMEANS_ITERATIONS = 8
_SAMPLES_PER_CELL = 40
_MIN_SAMPLES = 400
_MAX_ATTEMPTS = 5


# --- allocation -------------------------------------------------------------


def allocate(total: int, weights: Sequence[float], minimum: int = 1) -> list[int]:
    """Split `total` into integers proportional to `weights`, each at least `minimum`.

    Uses the largest-remainder method; the result sums exactly to `total`.
    Raises ValueError when no such split exists or the weights are unusable.
    """
    w = np.asarray(weights, dtype=float)
    _check_allocation(total, w, minimum)
    quotas = _quotas_with_floor(total, w, minimum)
    counts = np.floor(quotas).astype(int)
    leftover = total - int(counts.sum())
    # Stable sort keeps ties in input order, so the result is deterministic.
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[:leftover]] += 1
    return [int(c) for c in counts]


def _check_allocation(total: int, w: np.ndarray, minimum: int) -> None:
    if w.ndim != 1 or len(w) == 0:
        raise ValueError("weights must be a non-empty sequence")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    if minimum < 0 or total < minimum * len(w):
        raise ValueError(f"cannot give {len(w)} parts at least {minimum} each out of {total}")


def _quotas_with_floor(total: int, w: np.ndarray, minimum: int) -> np.ndarray:
    """Proportional quotas where parts below `minimum` are pinned and the rest rescaled."""
    pinned = np.zeros(len(w), dtype=bool)
    while True:
        free = ~pinned
        rest = total - minimum * int(pinned.sum())
        free_sum = w[free].sum()
        quotas = np.where(pinned, float(minimum), 0.0)
        if free_sum > 0:
            quotas[free] = rest * w[free] / free_sum
        else:
            quotas[free] = rest / max(int(free.sum()), 1)
        below = free & (quotas < minimum)
        if not below.any():
            return quotas
        pinned |= below


# --- partition --------------------------------------------------------------


def partition(polygon: BaseGeometry, n: int, rng: np.random.Generator) -> list[BaseGeometry]:
    """Split a Polygon/MultiPolygon into exactly `n` non-empty cells that tile it.

    Seeds come from k-means over random interior points, cells are their Voronoi
    regions clipped to the polygon, ordered north-to-south then west-to-east.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    if polygon.is_empty or polygon.area <= 0:
        raise ValueError("cannot partition a geometry without area")
    if n == 1:
        return [polygon]
    shapely.prepare(polygon)
    for _ in range(_MAX_ATTEMPTS):
        cells = _try_partition(polygon, n, rng)
        if cells is not None:
            return cells
    raise RuntimeError(f"could not split polygon into {n} non-empty cells")


def _try_partition(polygon: BaseGeometry, n: int, rng: np.random.Generator) -> list[BaseGeometry] | None:
    """One attempt; None when some cell came out empty (the caller reseeds)."""
    x_scale = math.cos(math.radians(polygon.centroid.y))
    points = _sample_points(polygon, max(_SAMPLES_PER_CELL * n, _MIN_SAMPLES), rng)
    seeds = _kmeans_seeds(points * (x_scale, 1.0), n, rng)
    seeds = seeds[np.lexsort((seeds[:, 0], -seeds[:, 1]))]
    cells = _voronoi_cells(seeds, polygon, x_scale)
    clipped = [_polygonal(c) for c in shapely.intersection(cells, polygon)]
    if any(c.is_empty for c in clipped):
        return None
    return _absorb_fragments(clipped)


def _sample_points(polygon: BaseGeometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` uniform random (x, y) points inside `polygon`, by rejection sampling."""
    minx, miny, maxx, maxy = polygon.bounds
    fill = max(polygon.area / ((maxx - minx) * (maxy - miny)), 1e-3)
    found: list[np.ndarray] = []
    have = 0
    while have < count:
        batch = int((count - have) / fill * 1.2) + 16
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(batch, 2))
        xy = xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]
        found.append(xy)
        have += len(xy)
    return np.concatenate(found)[:count]


def _kmeans_seeds(points: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct sample points, each the member nearest its k-means centroid."""
    centroids = points[rng.choice(len(points), size=n, replace=False)]
    for _ in range(_KMEANS_ITERATIONS):
        labels = _nearest(points, centroids)
        centroids = _centroids(points, labels, centroids)
    return _snap_to_members(points, centroids)


def _nearest(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return _sq_distances(points, centroids).argmin(axis=1)


def _sq_distances(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    diff = points[:, None, :] - centroids[None, :, :]
    return np.einsum("ijk,ijk->ij", diff, diff)


def _centroids(points: np.ndarray, labels: np.ndarray, old: np.ndarray) -> np.ndarray:
    k = len(old)
    counts = np.bincount(labels, minlength=k)
    sums = np.stack([np.bincount(labels, points[:, d], minlength=k) for d in (0, 1)], axis=1)
    # A cluster that lost all its points keeps its old centre rather than dividing by zero.
    return np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], old)


def _snap_to_members(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Replace each centroid by its nearest own member, so every seed lies inside the polygon.

    Centroids of concave shapes can fall outside them, which would give empty cells.
    """
    d = _sq_distances(points, centroids)
    labels = d.argmin(axis=1)
    own = np.where(labels[:, None] == np.arange(len(centroids)), d, np.inf)
    chosen = own.argmin(axis=0)
    empty = ~np.isfinite(own.min(axis=0))
    if empty.any():
        unused = np.setdiff1d(np.arange(len(points)), chosen[~empty])
        chosen[empty] = unused[: int(empty.sum())]
    return points[chosen]


def _voronoi_cells(seeds: np.ndarray, polygon: BaseGeometry, x_scale: float) -> np.ndarray:
    """Voronoi regions of the (x-scaled) seeds, in seed order, mapped back to degrees."""
    minx, miny, maxx, maxy = polygon.bounds
    pad = max(maxx - minx, maxy - miny)
    extent = box(minx * x_scale - pad, miny - pad, maxx * x_scale + pad, maxy + pad)
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=extent, ordered=True)
    cells = shapely.get_parts(diagram)
    return shapely.transform(cells, lambda xy: xy / (x_scale, 1.0))


def _absorb_fragments(cells: list[BaseGeometry]) -> list[BaseGeometry]:
    """Hand each detached piece of a cell to the neighbour it shares the longest border with.

    Voronoi cells clipped to a concave outline can come out in pieces; a grid split
    across a river bend is confusing on a map. Pieces touching no neighbour stay put.
    """
    pieces = [sorted(shapely.get_parts(c), key=lambda p: -p.area) for c in cells]
    mains = [p[0] for p in pieces]
    extras: list[list[BaseGeometry]] = [[] for _ in cells]
    for i, parts in enumerate(pieces):
        for part in parts[1:]:
            extras[_best_neighbour(part, mains, default=i)].append(part)
    return [m if not e else _polygonal(shapely.union_all([m, *e])) for m, e in zip(mains, extras)]


def _best_neighbour(part: BaseGeometry, mains: list[BaseGeometry], default: int) -> int:
    """Index of the main piece sharing the longest border with `part`, else `default`."""
    # Neighbouring clips are computed separately, so shared edges may differ in the last bits.
    near = shapely.buffer(part, 1e-9)
    shared = shapely.length(shapely.intersection(shapely.boundary(np.array(mains)), near))
    shared[default] = 0.0
    return int(shared.argmax()) if shared.max() > 1e-9 else default


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The valid polygonal part of `geom` (possibly empty), as a Polygon or MultiPolygon."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, (Polygon, MultiPolygon))]
    polygons = [q for p in parts for q in shapely.get_parts(p) if not q.is_empty]
    if len(polygons) == 1:
        return polygons[0]
    return MultiPolygon(polygons)


# --- display and storage ----------------------------------------------------


def simplify_for_screen(geom: BaseGeometry, tolerance_deg: float) -> BaseGeometry:
    """Topology-preserving simplification for drawing; never returns an empty geometry."""
    simple = _polygonal(shapely.simplify(geom, tolerance_deg, preserve_topology=True))
    return geom if simple.is_empty else simple


def to_geojson(geom: BaseGeometry, precision: int = 6) -> dict[str, Any]:
    """GeoJSON geometry dict with coordinates rounded to `precision` decimals."""
    # Snapping with set_precision keeps the result valid; plain rounding can self-intersect.
    snapped = _polygonal(shapely.set_precision(geom, 10.0**-precision))
    data = mapping(geom if snapped.is_empty else snapped)
    return {"type": data["type"], "coordinates": _round_coords(data["coordinates"], precision)}


def _round_coords(coords: Any, precision: int) -> Any:
    if isinstance(coords[0], (int, float)):
        return [round(float(c), precision) for c in coords]
    return [_round_coords(c, precision) for c in coords]


def from_geojson(d: dict[str, Any]) -> BaseGeometry:
    """Shapely geometry from a GeoJSON geometry dict."""
    return shape(d)


def load_town_features(path: str | Path) -> list[tuple[str, BaseGeometry]]:
    """(name, valid geometry) for each feature of a GeoJSON FeatureCollection, in file order."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [(f["properties"]["name"], _polygonal(shape(f["geometry"]))) for f in data["features"]]
