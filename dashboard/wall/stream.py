"""GET /wall/stream/<area_id>: the server-sent-events stream a wall reads.

Events (each `data:` is JSON):
- `hello` once, on connect: {"live": the hub's Redis state, "area_id", "state", "panels"}.
- `change`: a coalesced summary of notices for the area (see `hub.Pending.summary`), at most
  one per WINDOW seconds, with the wall's `state` after them (`dashboard.wall.view`): the
  headline numbers, deadline board and feed, which assets/wall.js draws as they come.
- `panels`: the slow panels' state (`dashboard.wall.panels`: map colours, category breakdown,
  trend), checked every WALL_SLOW_SECONDS and sent only when it changed (its `sign`).
- `status`: {"live": false} when the hub loses Redis; {"live": true, "resync": true, "state",
  "panels"} when it is back, with both read afresh (notices published meanwhile were lost).
- `ping` every HEARTBEAT seconds: {"live": ...}. The browser shows its disconnect banner when
  nothing at all arrived for 5 s, so a dead server is seen as quickly as a dead Redis.
A `state` or `panels` is null when Redis could not be read; the wall keeps what it shows.

GET /wall/state/<area_id>?lang= and GET /wall/panels/<area_id>?lang= answer the same states
as JSON, for the wall's polling fallback while its stream is down.

Only a logged-in person whose role has walls and whose jurisdiction covers the area may
open it (401 / 403 as JSON otherwise). The check is repeated every RECHECK seconds while
the stream is open: after a logout the stream ends, and the wall shows it is no longer live.

Each stream holds one server thread for as long as the wall is open: under gunicorn, size
`--threads` for the walls a process serves plus its callbacks (README, "Production").
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable

import redis as redis_lib
from flask import Blueprint, Response, current_app, jsonify, request

from dashboard.api.context import get_services
from dashboard.api.errors import ApiError
from dashboard.auth.access import current_login, may_open, require_actor
from dashboard.auth.login import load_user
from dashboard.wall import data, panels, view
from dashboard.wall.hub import LiveHub
from dashboard.wall.i18n import pick_language
from models.types import utcnow

WINDOW = 0.15  # seconds: the longest a notice waits to be coalesced with others
HEARTBEAT = 2.0  # seconds between pings when nothing else is sent
RETRY_MS = 1000  # the browser's reconnect delay after the stream drops
RECHECK = 15.0  # seconds between checks that the viewer is still logged in and allowed


def sse(event: str, data: dict) -> str:
    """One event. Chinese text goes as UTF-8, half the bytes of \\u escapes; JSON escapes
    every line break inside a string, so a description cannot end an event early."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def get_hub() -> LiveHub:
    return current_app.extensions["grid_hub"]


StateOf = Callable[[int | None, bool], dict | None]


class PanelsSender:
    """The `panels` events of one stream: a state is sent only when its sign differs from
    the last one sent, so an unchanged map costs the browser nothing."""

    def __init__(self, panels: StateOf, every: float):
        self.panels, self.every = panels, every
        self.sign, self.checked = None, time.monotonic()

    def take(self, fresh: bool = False) -> dict | None:
        """The panels state as of now (None when Redis cannot be read), remembered as sent."""
        self.checked = time.monotonic()
        found = self.panels(None, fresh)
        if found is not None:
            self.sign = found["sign"]
        return found

    def due(self) -> str | None:
        """A `panels` event when WALL_SLOW_SECONDS have passed and the state changed."""
        if time.monotonic() - self.checked < self.every:
            return None
        sign = self.sign
        found = self.take()
        return sse("panels", found) if found is not None and found["sign"] != sign else None


def generate(hub: LiveHub, area_id: int, window: float, heartbeat: float, *,
             state: StateOf | None = None, panels: StateOf | None = None, panels_every: float = 15.0,
             still_allowed: Callable[[], bool] | None = None, recheck: float = RECHECK):
    """The stream's messages. `state(seq, fresh)` gives the wall's state reflecting at
    least cursor `seq`, `panels(None, fresh)` its slow panels' state (each None when Redis
    cannot be read; without them, messages carry none). `still_allowed` is asked every
    `recheck` seconds; once it says no (the viewer logged out), the stream ends and the
    browser's retry is refused."""
    state = state or (lambda _seq, _fresh: None)
    slow = PanelsSender(panels or (lambda _seq, _fresh: None), panels_every)
    sub = hub.subscribe(area_id)
    try:
        yield f"retry: {RETRY_MS}\n" + sse("hello", {"live": hub.connected, "area_id": area_id,
                                                     "state": state(None, False), "panels": slow.take()})
        sent, checked = 0.0, time.monotonic()
        while True:
            pending = sub.take(heartbeat)
            if still_allowed is not None and time.monotonic() - checked >= recheck:
                if not still_allowed():
                    return
                checked = time.monotonic()
            if (event := slow.due()) is not None:
                yield event
            if pending is None:
                yield sse("ping", {"live": hub.connected})
                continue
            if pending.status is not None:
                yield sse("status", with_state(pending.status, state, slow))
            if pending.count:
                wait = sent + window - time.monotonic()
                if wait > 0:  # inside the window: gather the rest of the burst
                    time.sleep(wait)
                    more = sub.take(0)
                    if more is not None:
                        if more.status is not None:
                            yield sse("status", with_state(more.status, state, slow))
                        pending.absorb(more)
                sent = time.monotonic()
                yield sse("change", {**pending.summary(), "state": state(pending.seq, False)})
    finally:
        hub.unsubscribe(sub)


def with_state(status: dict, state: StateOf, slow: PanelsSender) -> dict:
    """A hub status; coming back from an outage, with both states read afresh."""
    if not status.get("resync"):
        return status
    return {**status, "state": state(None, True), "panels": slow.take(fresh=True)}


def make_state_reader(area_id: int, lang: str, kind: str = "grid_wall_states") -> StateOf:
    """This process's shared states (view.LiveStates) for one wall, usable outside the
    request (the stream outlives it); None while Redis is unreachable. `kind` is the app
    extension holding them: "grid_wall_states" (live panels) or "grid_wall_panels"."""
    app = current_app._get_current_object()
    states: view.LiveStates = app.extensions[kind]

    def state_of(seq: int | None, fresh: bool) -> dict | None:
        try:
            return states.get(area_id, lang, seq, fresh=fresh)
        except (redis_lib.ConnectionError, redis_lib.TimeoutError):
            return None

    return state_of


def make_live_states(app) -> view.LiveStates:
    """The process's shared states, read from Redis with the app's names."""
    def read(area_id: int, lang: str) -> dict:
        with app.app_context():
            services, names = get_services(), app.extensions["grid_names"]
            return view.live_view(data.read_live(services.redis, names, area_id, lang, utcnow()), lang)

    return view.LiveStates(read, max_age=app.config["WALL_SSE_WINDOW"])


def make_panel_states(app) -> view.LiveStates:
    """The process's shared slow-panel states: built at most every third of
    WALL_SLOW_SECONDS per area and language, however many screens show it."""
    def read(area_id: int, lang: str) -> dict:
        with app.app_context():
            services, names = get_services(), app.extensions["grid_names"]
            with services.sessions() as session:
                return panels.read_panels(services.redis, session, names, area_id, lang, utcnow())

    return view.LiveStates(read, max_age=app.config["WALL_SLOW_SECONDS"] / 3)


def answer_state(read: StateOf):
    found = read(None, False)
    if found is None:
        raise ApiError(503, "unavailable", "the wall's state cannot be read: Redis is unreachable")
    return jsonify(found)


def make_login_check(area_id: int) -> Callable[[], bool]:
    """Whether this request's login still exists and may see the area (the stream outlives
    its request, so the check carries the app with it)."""
    app, user_id = current_app._get_current_object(), current_login().get_id()

    def still_allowed() -> bool:
        with app.app_context():
            user = load_user(user_id)
            return user is not None and may_open(user.actor, "wall", area_id)

    return still_allowed


def make_stream_blueprint(known_area) -> Blueprint:
    """`known_area(area_id) -> bool` says whether the area has a wall (city, town, village)."""
    blueprint = Blueprint("wall_stream", __name__)

    def check(area_id: int) -> str:
        """401 / 403 / 404 as JSON, else the wall's language (`?lang=`)."""
        require_actor("wall")  # 401 for anonymous, 403 for a role without walls
        if not known_area(area_id):
            raise ApiError(404, "not_found", f"no wall for area {area_id}", field="area_id")
        require_actor("wall", area_id)  # 403 outside the jurisdiction
        lang = request.args.get("lang")
        if lang is not None and pick_language(lang, "") != lang:
            raise ApiError(422, "invalid", "lang must be zh or en", field="lang")
        return pick_language(lang, current_app.config["WALL_LANGUAGE"])

    @blueprint.get("/wall/state/<int:area_id>")
    def state(area_id: int):
        return answer_state(make_state_reader(area_id, check(area_id)))

    @blueprint.get("/wall/panels/<int:area_id>")
    def slow_panels(area_id: int):
        return answer_state(make_state_reader(area_id, check(area_id), "grid_wall_panels"))

    @blueprint.get("/wall/stream/<int:area_id>")
    def stream(area_id: int):
        lang = check(area_id)
        config = current_app.config
        body = generate(get_hub(), area_id, config["WALL_SSE_WINDOW"], config["WALL_SSE_HEARTBEAT"],
                        state=make_state_reader(area_id, lang),
                        panels=make_state_reader(area_id, lang, "grid_wall_panels"),
                        panels_every=config["WALL_SLOW_SECONDS"],
                        still_allowed=make_login_check(area_id),
                        recheck=config.get("WALL_SSE_RECHECK", RECHECK))
        return Response(body, mimetype="text/event-stream", headers={
            "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"})

    return blueprint
