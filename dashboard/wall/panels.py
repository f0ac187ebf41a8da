"""The wall's slow panels (category breakdown, 24-hour trend) as Dash components and figures.

The live panels (headline numbers, deadline board, feed) are drawn by assets/wall.js from
the states of `dashboard.wall.view`; the map is `dashboard.wall.geo`.
"""
from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go
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


def _style(fig: go.Figure, scale: float) -> go.Figure:
    fig.update_layout(
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        font={"color": INK, "size": round(BASE_FONT * scale)},
        margin={"l": round(8 * scale), "r": round(8 * scale), "t": round(6 * scale),
                "b": round(6 * scale)},
        dragmode=False, hovermode=False, showlegend=False, uirevision="wall")
    return fig


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


def build_trend(figures: dict | None, lang: str, scale: float = 1.0) -> go.Figure:
    """Reports per hour over the last 24 hours, against the same hours a week before."""
    trend = (figures or {}).get("trend") or {"hours": [], "this_week": [], "last_week": []}
    hours = [local_time(h, "%H时" if lang == "zh" else "%H:00") for h in trend["hours"]]
    fig = go.Figure()
    if not hours:  # the minute job has not run yet: say so rather than draw empty axes
        fig.add_annotation(text=t("no_figure", lang), showarrow=False, font={"color": MUTED})
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return _style(fig, scale)
    fig.add_scatter(x=hours, y=trend["last_week"], mode="lines", name=t("trend.last_week", lang),
                    line={"color": LAST_WEEK, "width": round(3 * scale), "dash": "dot"})
    fig.add_scatter(x=hours, y=trend["this_week"], mode="lines", name=t("trend.this_week", lang),
                    line={"color": THIS_WEEK, "width": round(4 * scale)}, fill="tozeroy",
                    fillcolor="rgba(56,189,248,0.12)")
    fig.update_xaxes(showgrid=False, nticks=8, tickfont={"color": MUTED})
    # A fixed range on a round top rather than autorange: the axis and its ticks stay put
    # while today's line creeps up (the same reason as the map's legend, geo.nice_ceiling).
    top = nice_ceiling(max([TREND_FLOOR, *trend["this_week"], *trend["last_week"]]) * 1.05)
    fig.update_yaxes(gridcolor=GRID, range=[0, top], autorange=False, tickfont={"color": MUTED})
    fig = _style(fig, scale)
    fig.update_layout(showlegend=True, legend={"orientation": "h", "x": 0, "y": 1.12,
                                               "font": {"color": MUTED}})
    return fig
