"""The app factory: a Dash app whose Flask server also carries the REST API (/api/v1)
and Open311 (/open311/v2). Each call builds its own engine, Redis client and caches;
nothing is shared through module globals, so run it once per process (no --preload)."""
from __future__ import annotations

import gc
import re
from typing import Any

import dash
import redis as redis_lib
from dash import dcc, html
from flask import Flask

from dashboard.admin.page import register_admin_pages
from dashboard.api import make_api_blueprint, not_found
from dashboard.api.cache import TtlCache
from dashboard.api.context import Services, get_publisher, install, make_write_lock
from dashboard.api.errors import register_error_handlers
from dashboard.api.open311 import make_open311_blueprint
from dashboard.api.publisher import LivePublisher
from dashboard.api.reference import Reference
from dashboard.auth.access import current_actor, list_pages
from dashboard.auth.login import get_home, install_auth
from dashboard.auth.ui import build_user_bar
from dashboard.console.page import register_console_pages
from dashboard.metrics_page.page import register_metrics_pages
from dashboard.delivery import install_delivery
from dashboard.wall.geo import warm_maps
from dashboard.wall.hub import LiveHub
from dashboard.wall.i18n import LANGUAGES
from dashboard.wall.names import Names
from dashboard.wall.pages import register_wall_pages
from dashboard.wall.stream import make_live_states, make_panel_states, make_stream_blueprint
from models import settings
from models.db import make_engine, make_session_factory
from models.sla import PolicyCache

DEFAULTS = {
    "API_BODY_LIMIT": 256 * 1024,        # one report or one action
    "API_BATCH_BODY_LIMIT": 2 * 1024 * 1024,  # POST /incidents:batch
    "REDIS_SOCKET_TIMEOUT": 5,
    "API_TOKEN_CACHE_SECONDS": 5,   # a revoked token stops working within this
    "API_RULES_CACHE_SECONDS": 60,  # rules edited outside /admin apply within this (models/sla.py)
    "LIVE_PUBLISH": "background",   # or "sync": see dashboard/api/publisher.py
    "LIVE_PUBLISH_DELAY": 0.03,     # background: seconds to gather commits into one relay pass
    "WALL_LANGUAGE": "zh",          # a wall's language unless its URL says ?lang=en
    "WALL_REFRESH_AT": "04:00",     # each wall reloads itself daily from here (Shanghai); None: never
    "WALL_REFRESH_SPREAD_MIN": 20,  # ... at a random minute of this many, per screen
    "WALL_SLOW_SECONDS": 60,        # map colours, categories and trend: checked this often (docs/wall.md)
    "WALL_SSE_WINDOW": 0.15,        # notices within this many seconds go to a wall as one
    "WALL_SSE_HEARTBEAT": 2.0,      # a wall hears from its stream at least this often
}


def make_redis(url: str, timeout: float) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(url, decode_responses=True, socket_timeout=timeout,
                                    socket_connect_timeout=timeout, health_check_interval=30)


def make_services(config, database_url: str | None, redis_url: str | None) -> Services:
    sessions = make_session_factory(make_engine(database_url or settings.database_url()))
    redis = make_redis(redis_url or settings.redis_url(), config["REDIS_SOCKET_TIMEOUT"])
    publish = get_publisher()
    publisher = LivePublisher(publish and (lambda: publish(sessions, redis)), config["LIVE_PUBLISH"],
                              config["LIVE_PUBLISH_DELAY"])
    reference = Reference(sessions, config["API_RULES_CACHE_SECONDS"]).load()
    return Services(sessions, redis, reference, publisher, TtlCache(config["API_TOKEN_CACHE_SECONDS"]),
                    PolicyCache(config["API_RULES_CACHE_SECONDS"]), make_write_lock(sessions))


def make_server(database_url: str | None, redis_url: str | None, config: dict[str, Any] | None) -> Flask:
    """The Flask server: API, Open311, the wall's stream, and the shared services."""
    server = Flask(__name__)
    server.config.update({**DEFAULTS, **(config or {})})
    server.json.ensure_ascii = False
    server.json.sort_keys = False
    services = make_services(server.config, database_url, redis_url)
    install(server, services)
    names = server.extensions["grid_names"] = Names(services.sessions)
    server.extensions["grid_hub"] = LiveHub(
        redis_url or settings.redis_url(), socket_timeout=server.config["REDIS_SOCKET_TIMEOUT"])
    server.extensions["grid_wall_states"] = make_live_states(server)
    server.extensions["grid_wall_panels"] = make_panel_states(server)
    register_error_handlers(server)
    install_delivery(server)
    server.register_blueprint(make_stream_blueprint(names.has_wall))
    server.register_blueprint(make_api_blueprint())
    server.register_blueprint(make_open311_blueprint())
    for prefix in ("/api", "/open311"):  # other versions: JSON 404s, not the Dash page
        server.add_url_rule(f"{prefix}/<path:rest>", f"{prefix[1:]}_not_found", not_found)
    install_auth(server, redis_url or settings.redis_url())
    return server


# Chinese first: lang="zh-CN" makes the browser pick the Simplified Chinese CJK font; a dark
# background from the first byte, so a wall never flashes white while it loads.
INDEX = """<!DOCTYPE html>
<html lang="zh-CN">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body class="grid-app">
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def build_home(**_) -> html.Div:
    """The front door: who you are and the screens your role opens, or the way to log in."""
    actor = current_actor()
    if actor is None:
        body = [html.P(html.A("登录 / Log in", href="/login?next=/"))]
    else:
        body = [build_user_bar(actor, "zh"),
                html.Ul([html.Li(dcc.Link(label, href=href)) for label, href in (
                    ("指挥大屏 Wall", get_home(actor) if actor.role == "operator" else "/wall"),
                    ("值班长工作台 Console", "/console"), ("领导指标 Metrics", "/metrics"),
                    ("系统管理 Admin", "/admin"))
                    if href.split("?")[0].split("/")[1] in list_pages(actor)])]
    return html.Div([
        html.H1("网格化管理指挥调度"), *body,
        html.P(["事件上报接口：", html.Code("/api/v1"), "（接口文档 ",
                html.A("/api/v1/openapi.json", href="/api/v1/openapi.json"), "）；Open311：",
                html.Code("/open311/v2")]),
    ], className="home")


def create_app(database_url: str | None = None, redis_url: str | None = None,
               config: dict[str, Any] | None = None) -> dash.Dash:
    """Without arguments, DATABASE_URL / REDIS_URL (or the embedded defaults) are used."""
    server = make_server(database_url, redis_url, config)
    app = dash.Dash(__name__, server=server, title="网格化管理指挥调度", use_pages=True,
                    pages_folder="", suppress_callback_exceptions=True, update_title=None,
                    index_string=INDEX)
    dash.register_page("home", path="/", layout=build_home, title="网格化管理指挥调度")
    register_wall_pages(app)
    register_console_pages(app)
    register_metrics_pages(app)
    register_admin_pages(app)
    app.layout = html.Div([dcc.Location(id="nav", refresh="callback-nav"), dash.page_container])
    return app


REFRESH_AT = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
MAX_REFRESH_SPREAD_MIN = 120  # wall.js tries for two hours from a screen's minute


def config_from_env() -> dict[str, Any]:
    """Settings for the entry points: LIVE_PUBLISH (sync or background), LIVE_PUBLISH_DELAY_MS,
    WALL_LANGUAGE (zh or en), WALL_SLOW_SECONDS, WALL_REFRESH_AT (HH:MM or off),
    WALL_REFRESH_SPREAD_MIN."""
    config: dict[str, Any] = {}
    if settings.env_str("LIVE_PUBLISH"):
        config["LIVE_PUBLISH"] = settings.env_str("LIVE_PUBLISH")
    language = settings.env_str("WALL_LANGUAGE")
    if language:
        if language not in LANGUAGES:
            raise settings.SettingsError(f"WALL_LANGUAGE must be one of {', '.join(LANGUAGES)}, "
                                         f"not {language!r}")
        config["WALL_LANGUAGE"] = language
    if settings.env_str("LIVE_PUBLISH_DELAY_MS"):
        config["LIVE_PUBLISH_DELAY"] = settings.env_int("LIVE_PUBLISH_DELAY_MS", 30, minimum=0) / 1000
    if settings.env_str("WALL_SLOW_SECONDS"):
        config["WALL_SLOW_SECONDS"] = settings.env_int("WALL_SLOW_SECONDS", 60, minimum=1)
    refresh = settings.env_str("WALL_REFRESH_AT")
    if refresh is not None:
        if refresh != "off" and not REFRESH_AT.fullmatch(refresh):
            raise settings.SettingsError(f"WALL_REFRESH_AT must be a time HH:MM (Asia/Shanghai) or off, "
                                         f"not {refresh!r}")
        config["WALL_REFRESH_AT"] = None if refresh == "off" else refresh
    if settings.env_str("WALL_REFRESH_SPREAD_MIN"):
        spread = settings.env_int("WALL_REFRESH_SPREAD_MIN", 20, minimum=0)
        if spread > MAX_REFRESH_SPREAD_MIN:
            raise settings.SettingsError(f"WALL_REFRESH_SPREAD_MIN must be <= {MAX_REFRESH_SPREAD_MIN}, "
                                         f"got {spread}")
        config["WALL_REFRESH_SPREAD_MIN"] = spread
    return config


def create_server() -> Flask:
    """The WSGI callable for gunicorn: gunicorn 'dashboard.app:create_server()'. Each
    worker loads the walls' names and builds the city's and towns' maps before it serves
    (see Names.warm, geo.warm_maps).

    Then it sets everything it holds so far aside from Python's cyclic garbage collector
    (gc.freeze): the ~190,000 objects of the loaded modules, the app, the names and the
    maps live as long as the worker. Left in, each full collection walks them all, ~100 ms
    with the GIL held, which stalls every request and stream of the worker at once: the
    slowest first loads of a wall in `bench/wall_load.py` were such pauses."""
    server = create_app(config=config_from_env()).server
    server.extensions["grid_names"].warm()
    with server.extensions["grid"].sessions() as session:
        warm_maps(session)
    gc.collect()  # start-up's own garbage first: what is frozen is never collected
    gc.freeze()
    return server


def dispose(app: dash.Dash) -> None:
    """Close the app's database connections and Redis client (tests, shutdown)."""
    app.server.extensions["grid_hub"].stop()
    services: Services = app.server.extensions["grid"]
    services.sessions.kw["bind"].dispose()
    services.redis.close()
