"""The app factory: a Dash app whose Flask server also carries the REST API (/api/v1)
and Open311 (/open311/v2). Each call builds its own engine, Redis client and caches;
nothing is shared through module globals, so run it once per process (no --preload)."""
from __future__ import annotations

from typing import Any

import dash
import redis as redis_lib
from dash import html
from flask import Flask

from dashboard.api import make_api_blueprint, not_found
from dashboard.api.cache import TtlCache
from dashboard.api.context import Services, get_publisher, install, make_write_lock
from dashboard.api.errors import register_error_handlers
from dashboard.api.open311 import make_open311_blueprint
from dashboard.api.publisher import LivePublisher
from dashboard.api.reference import Reference
from models import settings
from models.db import make_engine, make_session_factory

DEFAULTS = {
    "API_BODY_LIMIT": 256 * 1024,        # one report or one action
    "API_BATCH_BODY_LIMIT": 2 * 1024 * 1024,  # POST /incidents:batch
    "REDIS_SOCKET_TIMEOUT": 5,
    "API_TOKEN_CACHE_SECONDS": 5,   # a revoked token stops working within this
    "API_RULES_CACHE_SECONDS": 60,  # an edited time-limit rule applies within this
    "LIVE_PUBLISH": "background",   # or "sync": see dashboard/api/publisher.py
    "LIVE_PUBLISH_DELAY": 0.1,      # background: seconds to gather commits into one relay pass
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
                    TtlCache(config["API_RULES_CACHE_SECONDS"]), make_write_lock(sessions))


def make_server(database_url: str | None, redis_url: str | None, config: dict[str, Any] | None) -> Flask:
    server = Flask(__name__)
    server.config.update({**DEFAULTS, **(config or {})})
    server.json.ensure_ascii = False
    server.json.sort_keys = False
    install(server, make_services(server.config, database_url, redis_url))
    register_error_handlers(server)
    server.register_blueprint(make_api_blueprint())
    server.register_blueprint(make_open311_blueprint())
    for prefix in ("/api", "/open311"):  # other versions: JSON 404s, not the Dash page
        server.add_url_rule(f"{prefix}/<path:rest>", f"{prefix[1:]}_not_found", not_found)
    return server


def build_placeholder() -> html.Div:
    return html.Div([
        html.H1("网格化管理指挥调度"),
        html.P("指挥大屏、值班长工作台和指标页面将在后续版本上线。"),
        html.P(["事件上报接口：", html.Code("/api/v1"), "（接口文档 ",
                html.A("/api/v1/openapi.json", href="/api/v1/openapi.json"), "）；Open311：",
                html.Code("/open311/v2")]),
    ], style={"fontFamily": "sans-serif", "margin": "3rem"})


def create_app(database_url: str | None = None, redis_url: str | None = None,
               config: dict[str, Any] | None = None) -> dash.Dash:
    """Without arguments, DATABASE_URL / REDIS_URL (or the embedded defaults) are used."""
    server = make_server(database_url, redis_url, config)
    app = dash.Dash(__name__, server=server, title="网格化管理指挥调度")
    app.layout = build_placeholder
    return app


def config_from_env() -> dict[str, Any]:
    """Settings for the entry points: LIVE_PUBLISH (sync or background), LIVE_PUBLISH_DELAY_MS."""
    config: dict[str, Any] = {}
    if settings.env_str("LIVE_PUBLISH"):
        config["LIVE_PUBLISH"] = settings.env_str("LIVE_PUBLISH")
    if settings.env_str("LIVE_PUBLISH_DELAY_MS"):
        config["LIVE_PUBLISH_DELAY"] = settings.env_int("LIVE_PUBLISH_DELAY_MS", 100, minimum=0) / 1000
    return config


def create_server() -> Flask:
    """The WSGI callable for gunicorn: gunicorn 'dashboard.app:create_server()'."""
    return create_app(config=config_from_env()).server


def dispose(app: dash.Dash) -> None:
    """Close the app's database connections and Redis client (tests, shutdown)."""
    services: Services = app.server.extensions["grid"]
    services.sessions.kw["bind"].dispose()
    services.redis.close()
