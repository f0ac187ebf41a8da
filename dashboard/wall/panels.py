"""The wall's slow panels (map colours, category breakdown, 24-hour trend) as display-ready data.

Like the live panels (`dashboard.wall.view`), these are pushed on the stream and drawn by
assets/wall.js, not refreshed by a Dash callback: a *panels state* is built once per area
and language every few seconds in each dashboard process (`view.LiveStates`, shared by
every screen on the wall) and a stream sends it on only when it changed (its `sign`).

A panels state holds:
- `map`: for each mode ("count", "anomaly"), the choropleth trace's values and colour
  settings (`geo.map_style`), in the order of the map's children; the browser keeps
  the geometry it loaded with the page and applies the mode its switch shows;
- `trend`: the trend as a plotly figure dict, at scale 1 (the browser scales fonts, margins
  and lines to its screen);
- `categories`: the breakdown's rows, each with its bar and last week's marker as a
  percentage of the panel, and its numbers formatted;
- `at`: when the figures job computed the trend and categories (None before its first run).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy.orm import Session

from dashboard.wall.geo import MODES, load_map_ids, map_style, nice_ceiling, read_map_modes
from dashboard.wall.i18n import name_of, t
from dashboard.wall.names import Names
from models.sla import CITY_ZONE
from workers.wall import read_wall_figures

INK = "#e8eef7"
MUTED = "#8fa3bf"
GRID = "#24324a"
THIS_WEEK = "#38bdf8"
LAST_WEEK = "#64748b"
BASE_FONT = 15  # px at 1920 wide; the browser multiplies it by the screen's scale
TREND_FLOOR = 10  # the trend's axis reaches at least this many reports an hour
CATEGORY_ROWS = 8


def local_time(iso: str | None, fmt: str = "%H:%M:%S") -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone(CITY_ZONE).strftime(fmt)


def build_layout(**extra) -> dict:
    layout = {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
              "font": {"color": INK, "size": BASE_FONT},
              "margin": {"l": 8, "r": 8, "t": 6, "b": 6},
              "dragmode": False, "hovermode": False, "showlegend": False, "uirevision": "wall"}
    return {**layout, **extra}


def categories_view(names: Names, figures: dict | None, lang: str, rows: int = CATEGORY_ROWS) -> list[dict]:
    """Today's reports by category, largest first, with last week's count as a marker on the
    same scale (percentages of the track). Empty before the figures job's first run."""
    entries = ((figures or {}).get("categories") or [])[:rows]
    if not entries:
        return []
    top = max(max(e["today"], e["last_week"]) for e in entries) or 1
    last_week = t("trend.last_week", lang)
    return [{"id": e["category_id"],
             "name": name_of(c, lang) if (c := names.category(e["category_id"])) else "?",
             "count": f"{e['today']:,}", "bar": round(100 * e["today"] / top, 1),
             "last": round(100 * e["last_week"] / top, 1), "title": f"{last_week}: {e['last_week']:,}"}
            for e in entries]


def build_trend(figures: dict | None, lang: str) -> dict:
    """Reports per hour over the last 24 hours, against the same hours a week before.

    A plotly figure as a plain dict (plotly.js's own format), not a graph_objects.Figure:
    building one validated every property, 25-30 ms on a quiet benchmark host and over
    100 ms on a busy one. The tests validate it with plotly instead."""
    trend = (figures or {}).get("trend") or {"hours": [], "this_week": [], "last_week": []}
    hours = [local_time(h, "%H时" if lang == "zh" else "%H:00") for h in trend["hours"]]
    if not hours:  # the minute job has not run yet: say so rather than draw empty axes
        note = {"text": t("no_figure", lang), "showarrow": False, "font": {"color": MUTED}}
        return {"data": [], "layout": build_layout(annotations=[note], xaxis={"visible": False},
                                                   yaxis={"visible": False})}
    data = [
        {"type": "scatter", "x": hours, "y": trend["last_week"], "mode": "lines",
         "name": t("trend.last_week", lang), "line": {"color": LAST_WEEK, "width": 3, "dash": "dot"}},
        {"type": "scatter", "x": hours, "y": trend["this_week"], "mode": "lines",
         "name": t("trend.this_week", lang), "line": {"color": THIS_WEEK, "width": 4},
         "fill": "tozeroy", "fillcolor": "rgba(56,189,248,0.12)"},
    ]
    # A fixed range on a round top rather than autorange: the axis and its ticks stay put
    # while today's line creeps up (the same reason as the map's legend, geo.nice_ceiling).
    top = nice_ceiling(max([TREND_FLOOR, *trend["this_week"], *trend["last_week"]]) * 1.05)
    return {"data": data, "layout": build_layout(
        showlegend=True, legend={"orientation": "h", "x": 0, "y": 1.12, "font": {"color": MUTED}},
        xaxis={"showgrid": False, "nticks": 8, "tickfont": {"color": MUTED}},
        yaxis={"gridcolor": GRID, "range": [0, top], "autorange": False, "tickfont": {"color": MUTED}})}


def read_panels(redis, session: Session, names: Names, area_id: int, lang: str,
                now: datetime | None = None) -> dict:
    """One wall's panels state, from Redis (and, once per process and area, the map's order
    from SQL)."""
    level = str(names.area(area_id).level)
    values = read_map_modes(redis, area_id, level, MODES, now)
    ids = load_map_ids(session, area_id)
    figures = read_wall_figures(redis, area_id)
    panels = {"at": (figures or {}).get("at"),
              "map": {mode: map_style(values[mode], ids, mode, lang) for mode in MODES},
              "trend": build_trend(figures, lang),
              "categories": categories_view(names, figures, lang)}
    return {**panels, "seq": 0, "sign": sign_of(panels)}


def sign_of(panels: dict) -> str:
    """A short digest of what a panels state shows: a stream sends a state on only when its
    sign differs from the last one it sent."""
    text = json.dumps(panels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
