"""How pages reach the browser: compressed, with plotly.js's geo bundle, and timed.

- Compression (flask-compress, gzip/brotli) of HTML, CSS, JS and JSON. Never of the
  event stream: a compressor buffers, and a wall must get each message as it is sent.
- plotly.js: Dash serves the full bundle (4.8 MB, 1.5 MB gzipped) wherever there is a
  dcc.Graph. The walls draw choropleths and lines only, which plotly.js's official "geo"
  partial bundle holds (scatter, scattergeo, choropleth; 1.4 MB, 0.46 MB gzipped), so the
  same URL answers with that (vendor/, MIT, from npm plotly.js-geo-dist-min, the same
  version as the full bundle Dash carries). Bar charts are not in it: draw bars in HTML.
- Server-Timing: every response says how long the server spent on it (`app;dur=ms`), so
  a benchmark reads a callback's server time in the browser (PerformanceResourceTiming).
"""
from __future__ import annotations

import functools
import gzip
import time
from pathlib import Path

from flask import Flask, Response, g, request, send_file
from flask_compress import Compress

PLOTLY_PREFIX = "/_dash-component-suites/plotly/package_data/plotly"
PLOTLY_GEO = Path(__file__).parent / "vendor" / "plotly-geo-4.1.1.min.js"
CACHE_SECONDS = 86400 * 365  # the URL carries Dash's version stamp
COMPRESSED = ["text/html", "text/css", "text/javascript", "application/javascript",
              "application/json"]


def install_delivery(server: Flask) -> None:
    server.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED)
    server.config.setdefault("COMPRESS_MIN_SIZE", 1024)
    Compress(server)
    server.before_request(_start_timer)
    server.before_request(_serve_plotly_geo)
    server.after_request(_add_server_timing)


def _start_timer() -> None:
    g.started = time.perf_counter()


@functools.cache
def _plotly_geo_gzip() -> bytes:
    """Compressed once per process (level 9: 0.46 MB), not on every page load."""
    return gzip.compress(PLOTLY_GEO.read_bytes(), compresslevel=9, mtime=0)


def _serve_plotly_geo():
    if not (request.path.startswith(PLOTLY_PREFIX) and request.path.endswith(".js")):
        return None
    if "gzip" not in request.headers.get("Accept-Encoding", ""):
        return send_file(PLOTLY_GEO, mimetype="application/javascript", max_age=CACHE_SECONDS)
    response = Response(_plotly_geo_gzip(), mimetype="application/javascript")
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    return response


def _add_server_timing(response):
    started = g.get("started")
    if started is not None:
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response
