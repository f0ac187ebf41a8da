"""The wall's slow panels (category breakdown, 24-hour trend) as Dash components and figures.

The live panels (headline numbers, deadline board, feed) are drawn by assets/wall.js from
the states of `dashboard.wall.view`; the map is `dashboard.wall.geo`.
"""
from __future__ import annotations

from datetime import datetime

from dash import html

from dashboard.wall.geo import nice_ceiling
from dashboard.wall.i18n import name_of, t
from dashboard.wall.names import Names
from models.sla import CITY_ZONE

INK = "#e8eef7"
MUTED = "#8fa3bf"
GRID = "#24324a"
THIS_WEEK = "#38bdf8"
LAST_WEEK = "#64748b"
BASE_FONT = 15  # px at 1920 wide; multiplied by the screen's scale
TREND_FLOOR = 10  # the trend's axis reaches at least this many reports an hour


def local_time(iso: str | None, fmt: str = "%H:%M:%S") -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone(CITY_ZONE).strftime(fmt)


def build_layout(scale: float, **extra) -> dict:
    layout = {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
              "font": {"color": INK, "size": round(BASE_FONT * scale)},
              "margin": {side: round(n * scale) for side, n in (("l", 8), ("r", 8), ("t", 6), ("b", 6))},
              "dragmode": False, "hovermode": False, "showlegend": False, "uirevision": "wall"}
    return {**layout, **extra}


def build_categories(names: Names, figures: dict | None, lang: str, rows: int = 8) -> list:
    """Today's reports by category, largest first, as HTML bars (large text, no plot needed),
    with last week's count as a marker on the same scale."""
    entries = ((figures or {}).get("categories") or [])[:rows]
    if not entries:
        return [html.Div(t("no_figure", lang), className="empty")]
    top = max(max(e["today"], e["last_week"]) for e in entries) or 1
    return [html.Div([
        html.Div(name_of(c, lang) if (c := names.category(e["category_id"])) else "?",
                 className="cat-name"),
        html.Div([html.Div(className="cat-bar", style={"width": f"{100 * e['today'] / top:.1f}%"}),
                  html.Div(className="cat-last", style={"left": f"{100 * e['last_week'] / top:.1f}%"},
                           title=f"{t('trend.last_week', lang)}: {e['last_week']}")],
                 className="cat-track"),
        html.Div(f"{e['today']:,}", className="cat-count"),
    ], className="cat-row") for e in entries]


def build_trend(figures: dict | None, lang: str, scale: float = 1.0) -> dict:
    """Reports per hour over the last 24 hours, against the same hours a week before.

    A plotly figure as a plain dict (plotly.js's own format), not a graph_objects.Figure:
    building one validated every property, 25-30 ms on a quiet benchmark host and over
    100 ms on a busy one, in a callback whose budget is 50 ms. The tests validate it
    with plotly instead."""
    trend = (figures or {}).get("trend") or {"hours": [], "this_week": [], "last_week": []}
    hours = [local_time(h, "%H时" if lang == "zh" else "%H:00") for h in trend["hours"]]
    if not hours:  # the minute job has not run yet: say so rather than draw empty axes
        note = {"text": t("no_figure", lang), "showarrow": False, "font": {"color": MUTED}}
        return {"data": [], "layout": build_layout(scale, annotations=[note], xaxis={"visible": False},
                                                   yaxis={"visible": False})}
    data = [
        {"type": "scatter", "x": hours, "y": trend["last_week"], "mode": "lines",
         "name": t("trend.last_week", lang),
         "line": {"color": LAST_WEEK, "width": round(3 * scale), "dash": "dot"}},
        {"type": "scatter", "x": hours, "y": trend["this_week"], "mode": "lines",
         "name": t("trend.this_week", lang), "line": {"color": THIS_WEEK, "width": round(4 * scale)},
         "fill": "tozeroy", "fillcolor": "rgba(56,189,248,0.12)"},
    ]
    # A fixed range on a round top rather than autorange: the axis and its ticks stay put
    # while today's line creeps up (the same reason as the map's legend, geo.nice_ceiling).
    top = nice_ceiling(max([TREND_FLOOR, *trend["this_week"], *trend["last_week"]]) * 1.05)
    return {"data": data, "layout": build_layout(
        scale, showlegend=True, legend={"orientation": "h", "x": 0, "y": 1.12, "font": {"color": MUTED}},
        xaxis={"showgrid": False, "nticks": 8, "tickfont": {"color": MUTED}},
        yaxis={"gridcolor": GRID, "range": [0, top], "autorange": False, "tickfont": {"color": MUTED}})}
