"""GET /wall/stream/<area_id>: the server-sent-events stream a wall reads.

Events (each `data:` is JSON):
- `hello` once, on connect: {"live": the hub's Redis state, "area_id"}.
- `change`: a coalesced summary of notices for the area (see `hub.Pending.summary`), at most
  one per WINDOW seconds.
- `status`: {"live": false} when the hub loses Redis; {"live": true, "resync": true} when it
  is back, and the wall re-reads its snapshot.
- `ping` every HEARTBEAT seconds: {"live": ...}. The browser shows its disconnect banner when
  nothing at all arrived for 5 s, so a dead server is seen as quickly as a dead Redis.

Each stream holds one server thread for as long as the wall is open: under gunicorn, size
`--threads` for the walls a process serves plus its callbacks (README, "Production").
"""
from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app

from dashboard.api.errors import ApiError
from dashboard.wall.hub import LiveHub

WINDOW = 0.15  # seconds: the longest a notice waits to be coalesced with others
HEARTBEAT = 2.0  # seconds between pings when nothing else is sent
RETRY_MS = 1000  # the browser's reconnect delay after the stream drops


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def get_hub() -> LiveHub:
    return current_app.extensions["grid_hub"]


def generate(hub: LiveHub, area_id: int, window: float, heartbeat: float):
    sub = hub.subscribe(area_id)
    try:
        yield f"retry: {RETRY_MS}\n" + sse("hello", {"live": hub.connected, "area_id": area_id})
        sent = 0.0
        while True:
            pending = sub.take(heartbeat)
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


def make_stream_blueprint(known_area) -> Blueprint:
    """`known_area(area_id) -> bool` says whether the area has a wall (city, town, village)."""
    blueprint = Blueprint("wall_stream", __name__)

    @blueprint.get("/wall/stream/<int:area_id>")
    def stream(area_id: int):
        if not known_area(area_id):
            raise ApiError(404, "not_found", f"no wall for area {area_id}", field="area_id")
        config = current_app.config
        body = generate(get_hub(), area_id, config["WALL_SSE_WINDOW"], config["WALL_SSE_HEARTBEAT"])
        return Response(body, mimetype="text/event-stream", headers={
            "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"})

    return blueprint
