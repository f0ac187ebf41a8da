"""How pages reach the browser: compressed, with plotly.js's geo bundle, and timed.

- Compression (flask-compress, gzip/brotli) of HTML, CSS, JS and JSON. Never of the
  event stream: a compressor buffers, and a wall must get each message as it is sent.
- plotly.js: Dash serves the full bundle (4.8 MB, 1.5 MB gzipped) wherever there is a
  dcc.Graph. The walls draw choropleths and lines only, which plotly.js's official "geo"
  partial bundle holds (scatter, scattergeo, choropleth; 1.4 MB, 0.46 MB gzipped), so the
  same URL answers with that (vendor/, MIT, from npm plotly.js-geo-dist-min, the same
  version as the full bundle Dash carries). Bar charts are not in it: draw bars in HTML.
- A wall's HTML preloads plotly.js (`Link: <…>; rel=preload; as=script`). dcc.Graph asks
  for it only when a graph first renders, which on a wall is after the page callback has
  brought the content; preloaded, it is fetched alongside Dash's own scripts instead.
- Server-Timing: every response says how long the server spent on it (`app;dur=ms`, wall
  clock) and how much of that its thread was on a CPU (`cpu;dur=ms`), so a benchmark reads a
  callback's server time in the browser (PerformanceResourceTiming) and can tell the work
  from the waiting (for the GIL, or for a core the host gave to another process).
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import time
from pathlib import Path

from flask import Flask, Response, g, request
from flask_compress import Compress

from dashboard.wall.pages import WALL_PATHS

PLOTLY_PREFIX = "/_dash-component-suites/plotly/package_data/plotly"
PLOTLY_URL = PLOTLY_PREFIX + ".min.js"  # the URL dash-renderer gives dcc.Graph (serve_locally)
PLOTLY_GEO = Path(__file__).parent / "vendor" / "plotly-geo-4.1.1.min.js"
# Dash asks for plotly.js at one fixed URL, with no version in it: a browser may keep it an
# hour, then asks again and gets 304 while the bundle is the same (ETag: its digest), so a
# wall reloaded after an upgrade never runs an old plotly.js with a new Dash.
CACHE_SECONDS = 3600
COMPRESSED = ["text/html", "text/css", "text/javascript", "application/javascript",
              "application/json"]


def install_delivery(server: Flask) -> None:
    server.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED)
    server.config.setdefault("COMPRESS_MIN_SIZE", 1024)
    Compress(server)
    server.before_request(_start_timer)
    server.before_request(_serve_plotly_geo)
    server.after_request(_preload_plotly_on_walls)
    server.after_request(_add_server_timing)


def _start_timer() -> None:
    g.started, g.started_cpu = time.perf_counter(), time.thread_time()


@functools.cache
def _plotly_geo() -> tuple[bytes, bytes, str]:
    """The bundle, compressed once per process (level 9: 0.46 MB), and its digest."""
    raw = PLOTLY_GEO.read_bytes()
    return raw, gzip.compress(raw, compresslevel=9, mtime=0), hashlib.sha256(raw).hexdigest()[:16]


def _serve_plotly_geo():
    if not (request.path.startswith(PLOTLY_PREFIX) and request.path.endswith(".js")):
        return None
    raw, packed, digest = _plotly_geo()
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(packed if gzipped else raw, mimetype="application/javascript")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.set_etag(digest + ("-gz" if gzipped else ""))
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    return response.make_conditional(request)


def is_wall_page(path: str) -> bool:
    """/wall, /wall/town/<code>, /wall/village/<code>: not the walls' streams and states."""
    return path == "/wall" or path.startswith(tuple(WALL_PATHS.values()))


def _preload_plotly_on_walls(response):
    if response.status_code == 200 and response.mimetype == "text/html" and is_wall_page(request.path):
        response.headers.add("Link", f"<{PLOTLY_URL}>; rel=preload; as=script")
    return response


def _add_server_timing(response):
    started = g.get("started")
    if started is not None:
        wall, cpu = time.perf_counter() - started, time.thread_time() - g.started_cpu
        response.headers["Server-Timing"] = f"app;dur={wall * 1000:.1f}, cpu;dur={cpu * 1000:.1f}"
    return response
