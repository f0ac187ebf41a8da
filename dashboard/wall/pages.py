"""The wall pages (/wall, /wall/town/<code>, /wall/village/<code>) and their callbacks.

A page is rendered whole on the server at load, so the first paint needs no callback. Its
panels are drawn by assets/wall.js from two states the page carries (`#wall-state`) and the
stream (`dashboard.wall.stream`) pushes anew (`#wall-state` also carries the map's
boundaries, encoded once per process, which the map's figure names: dashboard/wall/geo.py):
- the live state (`dashboard.wall.view`: headline numbers, deadline board, feed), with
  every coalesced change;
- the panels state (`dashboard.wall.panels`: map colours for both modes, category
  breakdown, trend), when it changed, checked every WALL_SLOW_SECONDS. The map is drawn at
  load from the same state; the browser then recolours it (or redraws it, for a new legend,
  mode or screen size), and the map's mode switch is applied in the browser from the state
  it holds. The trend and the categories are
  plain elements wall.js draws.
So no Dash callback runs while a wall is watched. One remains, for a person at the screen:
`drill_down`, a click on a child area opens its wall.

Access (dashboard/auth): a wall is for operators, shift leads, leaders and admins whose
jurisdiction covers its area. The layout checks before reading anything, and so does each
callback, against the area id the page's store holds (a browser could send any id); the
stream and the state route check the same (dashboard/wall/stream.py).
"""
from __future__ import annotations

import json
import logging

import dash
import redis as redis_lib
from dash import Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app

from dashboard.api.context import get_services
from dashboard.auth.access import covers_area, get_actor_for, require_page
from dashboard.wall import data, view
from dashboard.wall.geo import MAP_CONFIG, build_map_figure, load_children_map, map_style
from dashboard.wall.i18n import name_of, pick_language, t
from dashboard.wall.names import CHILD_LEVEL, Names
from models.actor import Actor
from models.enums import AreaLevel
from models.types import utcnow

log = logging.getLogger(__name__)

WALL_PATHS = {AreaLevel.TOWN: "/wall/town/", AreaLevel.VILLAGE: "/wall/village/"}
REDIS_DOWN = (redis_lib.ConnectionError, redis_lib.TimeoutError)


def get_names() -> Names:
    return current_app.extensions["grid_names"]


def wall_href(level: str, code: str, lang: str) -> str:
    path = "/wall" if level == AreaLevel.CITY else WALL_PATHS[level] + code
    return path + ("?lang=en" if lang == "en" else "")


def build_header(area, parent, lang: str, *, show_up: bool = True) -> html.Header:
    up = (dcc.Link("↖ " + t("back", lang), href=wall_href(parent.level, parent.code, lang),
                   className="wall-up") if parent is not None and show_up else None)
    return html.Header([
        html.Div([html.Span(t(f"level.{area.level}", lang), className="wall-level"),
                  html.H1(name_of(area, lang), className="wall-name"), up], className="wall-where"),
        html.Div(t("title", lang), className="wall-title"),
        html.Div([html.Div(className="wall-clock", id="wall-clock"),
                  html.Div([html.Span(className="live-dot"),
                            html.Span(className="wall-updated", id="wall-updated")],
                           className="wall-status")], className="wall-time"),
    ], className="wall-header")


def build_wall(level: str, code: str | None, lang: str):
    actor = require_page("wall", lang=lang)
    if not isinstance(actor, Actor):
        return actor  # the login redirect, or a 403 notice for a role without walls
    services, names = get_services(), get_names()
    area = names.wall_area(code, level)
    if area is None:
        return html.Div([html.H1(t("not_found", lang)), dcc.Link("/wall", href="/wall")],
                        className="wall-missing")
    allowed = require_page("wall", area.id, lang=lang)
    if not isinstance(allowed, Actor):
        return allowed  # outside the jurisdiction
    parent = names.area(area.parent_id) if level != AreaLevel.CITY else None
    now = utcnow()
    with services.sessions() as session:
        area_map = load_children_map(session, area.id)
        try:
            live = current_app.extensions["grid_wall_states"].get(area.id, lang)
            slow = current_app.extensions["grid_wall_panels"].get(area.id, lang)
        except REDIS_DOWN:
            log.warning("wall %s rendered without live state: Redis is unreachable", area.code)
            headlines = data.build_headlines({"today": {}, "counts": {"open": None, "overdue": None}},
                                             None)
            feed = data.list_feed(session, names, level, area.id, lang)
            live = view.live_view({"seq": None, "at": now.isoformat(), "headlines": headlines,
                                   "board": [], "feed": feed}, lang)
            slow = None
    shown = slow["map"]["count"] if slow else map_style({}, area_map.ids, "count", lang)
    return html.Div([
        dcc.Store(id="wall-area", data={"area_id": area.id, "level": level, "code": area.code,
                                        "lang": lang}),
        html.Div(id="wall-state", hidden=True, **{"data-state": as_json(live), "data-panels": as_json(slow),
                                                  "data-geo-key": area_map.key, "data-geo": area_map.geometry}),
        build_header(area, parent, lang, show_up=parent is not None and covers_area(actor, parent.id)),
        html.Div(t("banner", lang), id="wall-banner", className="wall-banner", role="alert"),
        html.Section(id="wall-kpis", className="wall-kpis"),
        html.Section([
            html.Div([panel_title("map", lang), dcc.RadioItems(
                id="wall-map-mode", value="count", inline=True, className="map-mode",
                options=[{"label": t("map.count", lang), "value": "count"},
                         {"label": t("map.anomaly", lang), "value": "anomaly"}])],
                className="panel-head"),
            dcc.Graph(id="wall-map", figure=build_map_figure(area_map, shown, lang),
                      config=MAP_CONFIG, className="graph")], className="panel panel-map"),
        html.Section([panel_title("board", lang), html.Div(
            id="wall-board", className="board", **{"data-empty": t("board.empty", lang)})],
            className="panel panel-board"),
        html.Section([panel_title("feed", lang), html.Div(
            id="wall-feed-list", className="feed", **{"data-empty": t("feed.empty", lang)})],
            className="panel panel-feed"),
        html.Section([html.Div([panel_title("trend", lang), build_trend_legend(lang)], className="panel-head"),
                      html.Div([html.Div([html.Span(className="trend-top"), html.Span(className="trend-mid")],
                                         className="trend-axis"),
                                html.Div(id="wall-trend", className="trend-cols",
                                         **{"data-empty": t("no_figure", lang)})], className="trend")],
                     className="panel panel-trend"),
        html.Section([panel_title("categories", lang), html.Div(
            id="wall-categories", className="cats", **{"data-empty": t("no_figure", lang)})],
            className="panel panel-cats"),
    ], id="wall-root", className=f"wall wall-{level}", lang="zh-CN" if lang == "zh" else "en",
        **{"data-area": str(area.id), "data-lang": lang, **refresh_attributes(current_app.config)})


def refresh_attributes(config) -> dict[str, str]:
    """When the wall reloads itself each day (assets/wall.js, "the nightly refresh")."""
    if not config["WALL_REFRESH_AT"]:
        return {}
    return {"data-refresh-at": config["WALL_REFRESH_AT"],
            "data-refresh-spread": str(config["WALL_REFRESH_SPREAD_MIN"])}


def as_json(state: dict | None) -> str:
    return json.dumps(state, ensure_ascii=False, separators=(",", ":"))


def panel_title(key: str, lang: str) -> html.H2:
    return html.H2(t(key, lang), className="panel-title")


def build_trend_legend(lang: str) -> html.Div:
    """The trend's key: this week's columns, last week's markers (assets/wall.css)."""
    return html.Div([html.Span(className="swatch swatch-this"), html.Span(t("trend.this_week", lang)),
                     html.Span(className="swatch swatch-last"), html.Span(t("trend.last_week", lang))],
                    className="trend-legend")


def city_wall(lang: str | None = None, **_):
    return build_wall(AreaLevel.CITY, None, pick_language(lang, current_app.config["WALL_LANGUAGE"]))


def town_wall(code: str | None = None, lang: str | None = None, **_):
    return build_wall(AreaLevel.TOWN, code, pick_language(lang, current_app.config["WALL_LANGUAGE"]))


def village_wall(code: str | None = None, lang: str | None = None, **_):
    return build_wall(AreaLevel.VILLAGE, code,
                      pick_language(lang, current_app.config["WALL_LANGUAGE"]))


def register_wall_pages(app: dash.Dash) -> None:
    dash.register_page("wall_city", path="/wall", layout=city_wall, title="指挥大屏 · 市级")
    dash.register_page("wall_town", path_template="/wall/town/<code>", layout=town_wall,
                       title="指挥大屏 · 镇街")
    dash.register_page("wall_village", path_template="/wall/village/<code>", layout=village_wall,
                       title="指挥大屏 · 村（社区）")
    register_wall_callbacks(app)


def require_wall(area: dict | None) -> Actor:
    """A callback's own check: the logged-in actor may see this wall's area, or no update."""
    area_id = (area or {}).get("area_id")
    actor = get_actor_for("wall", area_id) if isinstance(area_id, int) else None
    if actor is None:
        raise PreventUpdate
    return actor


def register_wall_callbacks(app: dash.Dash) -> None:
    @app.callback(Output("nav", "href"), Input("wall-map", "clickData"), State("wall-area", "data"),
                  prevent_initial_call=True)
    def drill_down(click, area):
        require_wall(area)
        child = CHILD_LEVEL.get(area["level"])
        points = (click or {}).get("points") or []
        if child not in WALL_PATHS or not points:
            return no_update
        code = points[0].get("customdata") or points[0].get("location")
        if isinstance(code, list):
            code = code[0]
        return wall_href(child, str(code), area["lang"])
