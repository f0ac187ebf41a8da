"""The browser-test harness itself: Chromium with CJK fonts renders the app served over real
HTTP, reports go through the real API, the page log catches requests that leave the server,
screenshots are PNGs, and a private redis-server comes back on its own port."""
from __future__ import annotations

import struct

import pytest
import redis as redis_lib
from playwright.sync_api import expect

from models import Incident
from models.db import make_session_factory
from models.enums import State
from tests.api_support import GRID
from tests.browser.support import find_chromium, list_cjk_fonts, list_rendered_fonts, save_screenshot
from workers import keys
from workers.embedded_redis import free_port

HEADING = "网格化管理指挥调度"


def test_it_renders_the_chinese_heading_in_a_cjk_font_with_no_outside_requests(live_server, page, page_log):
    page.goto(live_server.url + "/", wait_until="networkidle")
    expect(page.locator("h1")).to_have_text(HEADING)
    assert list_cjk_fonts(), "fontconfig lists no Chinese font"
    fonts = list_rendered_fonts(page, "h1")
    cjk_glyphs = sum(count for family, count in fonts.items() if "CJK" in family)
    assert cjk_glyphs == len(HEADING), fonts  # every character drawn by a CJK font, none as tofu
    assert page_log.list_external(live_server.url) == []
    assert (page_log.console_errors, page_log.page_errors, page_log.failed_requests) == ([], [], [])
    assert any(url.endswith("/_dash-layout") for url in page_log.requests)


def test_it_sees_a_request_that_leaves_the_live_server(live_server, page, page_log):
    page.goto(live_server.url + "/", wait_until="networkidle")
    elsewhere = f"http://127.0.0.1:{free_port()}/pixel.png"  # nothing listens there
    with page.expect_event("requestfailed"):
        page.evaluate("url => { const img = new Image(); img.src = url; document.body.append(img); }", elsewhere)
    assert page_log.list_external(live_server.url) == [elsewhere]
    assert len(page_log.failed_requests) == 1 and elsewhere in page_log.failed_requests[0]


def test_it_stores_a_report_posted_through_the_http_api(live_server):
    body = live_server.report(priority="urgent")
    assert (body["state"], body["grid_code"], body["priority"]) == ("REPORTED", GRID, "urgent")
    with make_session_factory(live_server.engine)() as session:
        assert session.get(Incident, body["id"]).state == State.REPORTED
    assert live_server.redis.exists(keys.LIVE_INCIDENT.format(incident_id=body["id"]))


def test_it_saves_a_full_hd_screenshot_as_png(live_server, page):
    page.goto(live_server.url + "/", wait_until="networkidle")
    path = save_screenshot(page, "harness-placeholder")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1920, 1080)


def test_it_restarts_a_private_redis_on_the_same_port(own_redis, make_live_server):
    server = make_live_server(own_redis)
    first = server.report()
    port = own_redis.port
    own_redis.stop()
    with pytest.raises(redis_lib.ConnectionError):
        server.redis.ping()
    own_redis.start()
    assert own_redis.port == port and server.redis.ping()
    assert server.redis.exists(keys.LIVE_INCIDENT.format(incident_id=first["id"]))  # kept in its AOF
    second = server.report(description="重启后上报")
    assert server.redis.exists(keys.LIVE_INCIDENT.format(incident_id=second["id"]))


def test_it_finds_no_chromium_where_grid_chromium_points_at_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("GRID_CHROMIUM", str(tmp_path / "no-such-chromium"))
    assert find_chromium() is None
