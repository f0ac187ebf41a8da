"""Helpers for the browser tests (tests/browser/conftest.py holds the fixtures).

The browser tests run the real system: the app on a real HTTP server (werkzeug, threaded,
so SSE streams work), a copy of the reference city, a real redis-server, and Debian's
Chromium driven by Playwright. Nothing here is a mock; the helpers only start, watch and
stop those pieces.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import redis as redis_lib
from dash import Dash
from sqlalchemy.engine import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from dashboard.app import create_app, dispose
from models.db import make_engine, make_session_factory
from tests.api_support import DEMO_PASSWORD, make_report, make_token
from tests.conftest import REPO
from workers.live import rebuild_live_state

ARTIFACTS = REPO / "test-artifacts"
APT_PACKAGES = "chromium chromium-driver fonts-noto-cjk"
# Offline and quiet: no updates, sync, QUIC or first-run pages; no GPU in CI.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LIVE_CONFIG = {"LIVE_PUBLISH": "sync", "API_TOKEN_CACHE_SECONDS": 0}
LOGIN_TIMEOUT_MS = 15_000


# ---------------------------------------------------------------- the browser

def find_chromium() -> str | None:
    """$GRID_CHROMIUM when set (CI exports it), else `chromium` on PATH."""
    explicit = os.environ.get("GRID_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("chromium")


def list_cjk_fonts() -> list[str]:
    """The font families fontconfig offers for Chinese; empty means the wall would show tofu."""
    if not shutil.which("fc-list"):
        return []
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return sorted({line.strip() for line in out.stdout.splitlines() if line.strip()})


def list_rendered_fonts(page, selector: str) -> dict[str, int]:
    """{font family: glyph count} that Chromium really used to draw the element's text.

    document.fonts.check() answers true even for fonts that do not exist, so it proves
    nothing; the DevTools protocol reports the platform fonts behind the glyphs.
    """
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            raise AssertionError(f"no element matches {selector!r}")
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        cdp.detach()
    return {font["familyName"]: font["glyphCount"] for font in fonts}


def save_screenshot(page, name: str) -> Path:
    """Write test-artifacts/<name>.png (the whole page) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^\w.-]+", "_", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class PageLog:
    """What a page did besides rendering: console errors, uncaught exceptions, every request
    and the ones that failed. Attach it before the first navigation."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def attach(self, page) -> PageLog:
        page.on("console", self._note_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("requestfailed", lambda request: self.failed_requests.append(
            f"{request.method} {request.url}: {request.failure}"))
        return self

    def _note_console(self, message) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def list_external(self, base_url: str) -> list[str]:
        """Requests that left base_url's host and port (the wall must work with no internet)."""
        own = urlsplit(base_url).netloc
        return [url for url in self.requests
                if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != own]

    def __str__(self) -> str:
        parts = [("console errors", self.console_errors), ("page errors", self.page_errors),
                 ("failed requests", self.failed_requests)]
        return "\n".join(f"{name}:\n  " + "\n  ".join(items) for name, items in parts if items) or "(clean)"


def login(page, server, username: str, password: str = DEMO_PASSWORD, *, next_path: str | None = None,
          remember: bool = False) -> None:
    """Log in through the real login page, as a person would: type, tick, press the button.
    Lands on `next_path` (default: the role's home page); a refused login fails the test."""
    page.goto(server.url + "/login" + (f"?next={quote(next_path, safe='/')}" if next_path else ""))
    page.fill("#username", username)
    page.fill("#password", password)
    if remember:
        page.check("#remember")
    with page.expect_navigation(timeout=LOGIN_TIMEOUT_MS):
        page.click("#login-submit")
    if urlsplit(page.url).path == "/login":
        error = page.query_selector("#login-error")
        raise AssertionError(f"login as {username} refused: {error.inner_text() if error else page.url}")


# ---------------------------------------------------------------- the system under test

@dataclass
class LiveServer:
    """The app served over real HTTP on a free port, with its database and Redis."""

    url: str                # http://127.0.0.1:<port>, no trailing slash
    db_url: str
    engine: Engine          # on the same database, for the test's own reads
    redis: redis_lib.Redis  # decode_responses=True, on the same Redis as the app
    redis_server: object    # the EmbeddedRedis the app uses (.url, .port, .stop(), .start())
    token: str              # an API token for the intake API
    app: Dash               # app.server is the Flask server
    http: BaseWSGIServer
    thread: threading.Thread

    def report(self, **fields) -> dict:
        """POST /api/v1/incidents with tests.api_support.make_report(**fields); the JSON answer.
        A field given as None is left out (grid_code=None, lon=..., lat=... reports a point)."""
        return self.post("/api/v1/incidents", make_report(**fields))

    def act(self, incident_id: int, action: str, **body) -> dict:
        """POST one lifecycle action through the API; the JSON answer."""
        return self.post(f"/api/v1/incidents/{incident_id}/actions/{action}", body)

    def post(self, path: str, body: dict) -> dict:
        """An authenticated JSON POST; a non-2xx answer fails with its status and body."""
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"POST {path} answered {error.code}: {error.read().decode()}") from None

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join(timeout=10)
        dispose(self.app)
        self.redis.close()
        self.engine.dispose()


def start_live_server(db_url: str, redis_server, config: dict | None = None) -> LiveServer:
    """Flush Redis, rebuild the live state from SQL (as `python -m workers rebuild` does),
    make a token and serve create_app(...) on a free loopback port in a daemon thread."""
    engine = make_engine(db_url)
    client = redis_lib.Redis.from_url(redis_server.url, socket_timeout=5, decode_responses=True)
    client.flushdb()
    with make_session_factory(engine)() as session:
        rebuild_live_state(session, client)
    token = make_token(engine, "browser-tests")
    settings = {**LIVE_CONFIG, "SECRET_KEY": secrets.token_hex(32), **(config or {})}
    app = create_app(database_url=db_url, redis_url=redis_server.url, config=settings)
    http = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=http.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"live-server-{http.port}", daemon=True)
    thread.start()
    return LiveServer(f"http://127.0.0.1:{http.port}", db_url, engine, client, redis_server, token, app,
                      http, thread)
