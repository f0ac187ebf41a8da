"""Pure builders of the metrics page's parts, from plain data (no queries here).

The app serves plotly.js's geo bundle only (scatter, scattergeo, choropleth), so the trend
is a line chart and every bar (stages, rankings) is drawn in HTML. Each indicator's
definition is its `title`, shown on hover."""
from __future__ import annotations

from urllib.parse import urlencode

import plotly.graph_objects as go
from dash import dcc, html

from dashboard.metrics_page import ids
from dashboard.metrics_page.definitions import (
    CARDS, COUNT, HOURS, INDICATORS, RANKABLE, RATE, STAGES, TREND,
)
from dashboard.metrics_page.rankings import Ranking
from dashboard.metrics_page.tables import format_period, ranking_value_label
from dashboard.metrics_page.text import name_of, t

INK, MUTED, GRID = "#e8eef7", "#8fa3bf", "#24324a"
LINE_COLOURS = {"reported": "#38bdf8", "closed": "#34d399", "overdue_end": "#f87171",
                "on_time_closure_rate": "#fbbf24"}
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}


def build_href(code: str, start, end, lang: str, indicator: str | None = None,
               department_level: str | None = None) -> str:
    """/metrics?area=…&from=…&to=…&lang=… (ranking choices kept when not the default)."""
    query = {"area": code, "from": start.isoformat(), "to": end.isoformat()}
    if indicator and indicator != RANKABLE[0]:
        query["rank"] = indicator
    if department_level:
        query["dlevel"] = department_level
    if lang == "en":
        query["lang"] = "en"
    return "/metrics?" + urlencode(query)


def build_breadcrumb(trail, period, lang: str, indicator: str) -> html.Nav:
    parts = []
    for n, area in enumerate(trail):
        if n:
            parts.append(html.Span("›", className="metrics-crumb-sep"))
        if n == len(trail) - 1:
            parts.append(html.Span(name_of(area, lang), className="metrics-crumb-here"))
        else:
            parts.append(dcc.Link(name_of(area, lang), className="metrics-crumb",
                                  href=build_href(area.code, period.start, period.end, lang, indicator)))
    return html.Nav(parts, id=ids.BREADCRUMB, className="metrics-breadcrumb")


# ---------------------------------------------------------------- cards

def format_change(row: dict, lang: str) -> tuple[str, str]:
    """(text, class) of the change against the previous period."""
    change, unit = row["change"], INDICATORS[row["key"]].unit
    if change is None:
        return f"{t('vs_previous', lang)} —", "flat"
    if change == 0:
        return f"{t('vs_previous', lang)} ＝", "flat"
    size = abs(change)
    amount = {RATE: f"{size:.1f} {t('points', lang)}", HOURS: f"{size:.1f} {t('hours', lang)}",
              COUNT: f"{size:,}"}[unit]
    better = row["better"]
    tone = "flat" if better is None else ("good" if (change > 0) == (better == "higher") else "bad")
    return f"{t('vs_previous', lang)} {'▲' if change > 0 else '▼'} {amount}", tone


def build_card(row: dict, lang: str) -> html.Div:
    change, tone = format_change(row, lang)
    return html.Div([
        html.Div([row["name"], html.Span("ⓘ", className="metrics-info")], className="metrics-card-name"),
        html.Div(row["text"], className="metrics-card-value"),
        html.Div(change, className=f"metrics-delta {tone}"),
    ], className=f"metrics-card metrics-card-{row['key']}", title=row["definition"],
        id={"type": ids.CARD, "key": row["key"]})


def build_cards(rows: list[dict], lang: str) -> list:
    by_key = {r["key"]: r for r in rows}
    return [build_card(by_key[key], lang) for key in CARDS]


def build_stages(rows: list[dict], figures: dict, lang: str) -> list:
    """One HTML bar per stage: the on-time rate, and on time / done underneath."""
    by_key = {r["key"]: r for r in rows}
    bars = []
    for stage in STAGES:
        row = by_key[f"{stage}_on_time_rate"]
        width = f"{row['value']:.1f}%" if row["value"] is not None else "0%"
        counts = t("stage.counts", lang, on_time=figures[f"{stage}_on_time"], done=figures[f"{stage}_done"])
        bars.append(html.Div([
            html.Div([row["name"], html.Span("ⓘ", className="metrics-info")], className="metrics-stage-name"),
            html.Div(html.Div(className="metrics-bar-fill", style={"width": width}), className="metrics-bar"),
            html.Div(row["text"], className="metrics-stage-value"),
            html.Div(counts, className="metrics-stage-counts"),
        ], className="metrics-stage", title=row["definition"], id={"type": ids.STAGE, "key": stage}))
    return bars


# ---------------------------------------------------------------- trend

def build_trend_figure(trend: list[dict], lang: str) -> go.Figure:
    """Counts per day on the left axis, the on-time closure rate (%) on the right."""
    days = [entry["day"].isoformat() for entry in trend]
    figure = go.Figure()
    for key in TREND:
        indicator = INDICATORS[key]
        is_rate = indicator.unit == RATE
        values = [None if e[key] is None else (round(e[key] * 100, 1) if is_rate else e[key]) for e in trend]
        figure.add_trace(go.Scatter(
            x=days, y=values, name=indicator.name(lang), mode="lines+markers",
            yaxis="y2" if is_rate else "y", line={"color": LINE_COLOURS[key], "width": 2,
                                                   "dash": "dot" if is_rate else "solid"},
            hovertemplate="%{x}: %{y}" + ("%" if is_rate else "") + f"<extra>{indicator.name(lang)}</extra>"))
    figure.update_layout(
        margin={"l": 48, "r": 56, "t": 16, "b": 40}, height=320, paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)", font={"color": INK, "size": 13},
        legend={"orientation": "h", "y": -0.18, "font": {"color": MUTED}},
        xaxis={"type": "category", "gridcolor": GRID, "color": MUTED},
        yaxis={"gridcolor": GRID, "color": MUTED, "rangemode": "tozero"},
        yaxis2={"overlaying": "y", "side": "right", "range": [0, 105], "tickmode": "array",
                "tickvals": [0, 25, 50, 75, 100], "ticktext": ["0%", "25%", "50%", "75%", "100%"],
                "color": MUTED, "showgrid": False})
    return figure


# ---------------------------------------------------------------- rankings

def _bar_width(value, scale) -> str:
    if value is None or not scale:
        return "0%"
    return f"{max(0.0, min(100.0, value / scale * 100)):.1f}%"


def build_ranking(ranking: Ranking, rows: list[list], lang: str, link=None) -> html.Div:
    """The ranked entries as a table with HTML bars, then those with too few cases.
    `link(code)` gives an entry's drill-down address (areas), or None (departments)."""
    ranked = [r for r in rows if r[0] is not None]
    too_few = [r for r in rows if r[0] is None]
    unit = INDICATORS[ranking.indicator].unit
    scale = 100 if unit == RATE else max((r[3] or 0 for r in ranked), default=0)

    def name(row):
        return dcc.Link(row[1], href=link(row[2]), className="metrics-drill") if link else row[1]

    head = html.Tr([html.Th(t("col.rank", lang)), html.Th(t("col.name", lang)),
                    html.Th(ranking_value_label(ranking.indicator, lang),
                            title=INDICATORS[ranking.indicator].definition(lang)),
                    html.Th(t("col.cases", lang))])
    body = [html.Tr([
        html.Td(row[0], className="metrics-rank"), html.Td(name(row)),
        html.Td(html.Div([html.Div(className="metrics-bar-fill", style={"width": _bar_width(row[3], scale)}),
                          html.Span(f"{row[3]:.1f}", className="metrics-bar-label")],
                         className="metrics-bar metrics-bar-row")),
        html.Td(f"{row[4]:,}", className="metrics-cases")]) for row in ranked]
    parts = [html.Table([html.Thead(head), html.Tbody(body)], className="metrics-table")
             if ranked else html.P(t("nobody_ranked", lang, n=ranking.min_cases), className="metrics-empty")]
    if too_few:
        parts.append(html.Details([
            html.Summary(f"{t('too_few', lang, n=ranking.min_cases)} ({len(too_few)})"),
            html.Ul([html.Li([name(row), html.Span(f" · {row[4]:,}", className="metrics-cases")])
                     for row in too_few], className="metrics-too-few")], open=not ranked))
    return html.Div(parts)


def build_notices(view, lang: str, latest_day) -> list:
    """Plain words when the range has nothing to show, or shows an unfinished today."""
    notices = []
    if not view.has_data:
        text = t("no_data", lang)
        if latest_day is not None:
            text += " " + t("no_data.latest", lang, day=latest_day.isoformat())
        if not view.computed:
            text += " " + t("no_metrics", lang)
        notices.append(html.P(text, className="metrics-notice", id=ids.NO_DATA))
    if view.period.end >= view.today and view.has_data:
        notices.append(html.P(t("today_partial", lang), className="metrics-notice soft"))
    return notices


def build_title(view, lang: str) -> html.Div:
    return html.Div([html.Span(t(f"level.{view.area.level}", lang), className="metrics-level"),
                     html.H1(name_of(view.area, lang), className="metrics-name"),
                     html.Span(t("title", lang), className="metrics-title"),
                     html.Span(format_period(view.period, lang), className="metrics-period")],
                    className="metrics-heading")
