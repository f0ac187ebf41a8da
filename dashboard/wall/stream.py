"""GET /wall/stream/<area_id>: the server-sent-events stream a wall reads.

Events (each `data:` is JSON):
- `hello` once, on connect: {"live": the hub's Redis state, "area_id"}.
- `change`: a coalesced summary of notices for the area (see `hub.Pending.summary`), at most
  one per WINDOW seconds.
- `status`: {"live": false} when the hub loses Redis; {"live": true, "resync": true} when it
  is back, and the wall re-reads its snapshot.
- `ping` every HEARTBEAT seconds: {"live": ...}. The browser shows its disconnect banner when
  nothing at all arrived for 5 s, so a dead server is seen as quickly as a dead Redis.

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

from flask import Blueprint, Response, current_app

from dashboard.api.errors import ApiError
from dashboard.auth.access import current_login, may_open, require_actor
from dashboard.auth.login import load_user
from dashboard.wall.hub import LiveHub

WINDOW = 0.15  # seconds: the longest a notice waits to be coalesced with others
HEARTBEAT = 2.0  # seconds between pings when nothing else is sent
RETRY_MS = 1000  # the browser's reconnect delay after the stream drops
RECHECK = 15.0  # seconds between checks that the viewer is still logged in and allowed


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def get_hub() -> LiveHub:
    return current_app.extensions["grid_hub"]


def generate(hub: LiveHub, area_id: int, window: float, heartbeat: float, *,
             still_allowed: Callable[[], bool] | None = None, recheck: float = RECHECK):
    """The stream's messages. `still_allowed` is asked every `recheck` seconds; once it
    says no (the viewer logged out), the stream ends and the browser's retry is refused."""
    sub = hub.subscribe(area_id)
    try:
        yield f"retry: {RETRY_MS}\n" + sse("hello", {"live": hub.connected, "area_id": area_id})
        sent, checked = 0.0, time.monotonic()
        while True:
            pending = sub.take(heartbeat)
            if still_allowed is not None and time.monotonic() - checked >= recheck:
                if not still_allowed():
                    return
                checked = time.monotonic()
            if pending is None:
                yield sse("ping", {"live": hub.connected})
                continue
            if pending.status is not None:
                yield sse("status", pending.status)
            if pending.count:
                wait = sent + window - time.monotonic()
                if wait > 0:  # inside the window: gather the rest of the burst
                    time.sleep(wait)
                    more = sub.take(0)
                    if more is not None:
                        if more.status is not None:
                            yield sse("status", more.status)
                        pending.absorb(more)
                sent = time.monotonic()
                yield sse("change", pending.summary())
    finally:
        hub.unsubscribe(sub)


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

    @blueprint.get("/wall/stream/<int:area_id>")
    def stream(area_id: int):
        require_actor("wall")  # 401 for anonymous, 403 for a role without walls
        if not known_area(area_id):
            raise ApiError(404, "not_found", f"no wall for area {area_id}", field="area_id")
        require_actor("wall", area_id)  # 403 outside the jurisdiction
        config = current_app.config
        body = generate(get_hub(), area_id, config["WALL_SSE_WINDOW"], config["WALL_SSE_HEARTBEAT"],
                        still_allowed=make_login_check(area_id),
                        recheck=config.get("WALL_SSE_RECHECK", RECHECK))
        return Response(body, mimetype="text/event-stream", headers={
            "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"})

    return blueprint
