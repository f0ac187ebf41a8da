"""`python -m dashboard`: the development server really serves the API and the page."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time

from tests.api_support import make_report, token, url_of  # noqa: F401  (fixtures)
from tests.conftest import REPO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body and json.dumps(body), {"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    return response.status, response.read()


def _wait_until_serving(port, server, timeout=60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read()
        try:
            if _request(port, "GET", "/api/v1/openapi.json")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")


def test_it_serves_the_api_and_the_page_from_the_command_line(city_engine, redis_server, redis, token):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url_of(city_engine), "REDIS_URL": redis_server.url}
    server = subprocess.Popen([sys.executable, "-m", "dashboard", "--port", str(port)], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_serving(port, server)
        status, body = _request(port, "POST", "/api/v1/incidents", make_report(),
                                {"Authorization": f"Bearer {token}"})
        assert status == 201, body
        status, page = _request(port, "GET", "/")
        assert status == 200 and "网格化管理指挥调度" in page.decode()
    finally:
        server.terminate()
        server.wait(timeout=30)
