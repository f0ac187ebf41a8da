"""Whole journeys of each role in a real headless Chromium against the real app over HTTP
(a copy of the reference city, the real Redis): log in through the login form, open the
pages the role is for, act, and see the action reach another person's wall.

Incidents go in through the HTTP API; the one breach comes from the SLA sweeper run with
a clock set past the deadline (as tests/browser/test_wall.py does).
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from models.db import make_session_factory
from models.incident import Incident
from tests.browser.support import login, save_screenshot
from workers.sla import sweep_breaches

TOWN, OTHER_TOWN = "441900004", "441900003"
LIVE_TIMEOUT_MS = 10_000
XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


def board_row(incident_id: int) -> str:
    return f'#wall-board .board-row[data-incident="{incident_id}"]'


def feed_entry(incident_id: int) -> str:
    return f'#wall-feed-list .feed-entry[data-incident="{incident_id}"]'


def queue_cell(page, incident_id: int):
    return page.locator("#console-queue td[data-dash-column='id']",
                        has_text=re.compile(rf"^\s*{incident_id}\s*$"))


def open_wall(page, server, path: str):
    page.goto(server.url + path)
    page.wait_for_selector("#wall-root")
    page.wait_for_function("window.gridWall && window.gridWall.isLive()", timeout=LIVE_TIMEOUT_MS)
    return page


def open_in_console(page, server, incident_id: int):
    """Open /console, find the incident in the queue and open it in the drawer."""
    if urlsplit(page.url).path != "/console":
        page.goto(server.url + "/console")
    page.wait_for_selector("#console-root")
    queue_cell(page, incident_id).click(timeout=LIVE_TIMEOUT_MS)
    page.wait_for_selector("#console-drawer-summary p", timeout=LIVE_TIMEOUT_MS)


def test_an_operator_lands_on_their_wall_and_gets_a_403_for_another_towns(live_server, page):
    login(page, live_server, f"{TOWN}-operator-1")  # through the form, to their home page
    page.wait_for_url(f"**/wall/town/{TOWN}")
    page.wait_for_selector("#wall-root")
    page.goto(live_server.url + f"/wall/town/{OTHER_TOWN}")
    notice = page.wait_for_selector(".auth-notice.auth-forbidden")
    assert "无权访问" in notice.inner_text() and page.query_selector("#wall-root") is None


def test_a_shift_leads_actions_in_the_console_reach_an_operators_wall(live_server, page, chromium):
    incident = live_server.report()
    sessions = make_session_factory(live_server.engine)
    with sessions() as session:
        due = session.get(Incident, incident["id"]).due_at
    assert due is not None, "a new report runs the accept clock"
    sweep_breaches(sessions, live_server.redis, now=due + timedelta(seconds=1))

    operator = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                    timezone_id="Asia/Shanghai")
    try:
        wall = operator.new_page()
        wall.set_default_timeout(LIVE_TIMEOUT_MS)
        login(wall, live_server, f"{TOWN}-operator-1", next_path=f"/wall/town/{TOWN}")
        open_wall(wall, live_server, f"/wall/town/{TOWN}")
        row = board_row(incident["id"])
        stage = row + " .board-stage"
        wall.wait_for_selector(row + ".flash")
        stage_before = wall.inner_text(stage)

        login(page, live_server, f"{TOWN}-shiftlead-1", next_path="/console")
        open_in_console(page, live_server, incident["id"])
        page.wait_for_selector("#console-actions [data-shortcut='a']")
        page.keyboard.press("a")  # accept, by the console's shortcut
        page.wait_for_function("() => document.getElementById('console-message').innerText.includes('已受理')",
                               timeout=LIVE_TIMEOUT_MS)
        with sessions() as session:
            assert session.get(Incident, incident["id"]).state.value == "ACCEPTED"
        wall.wait_for_function(  # the wall's board moves the row on to the next stage
            "([sel, before]) => { const s = document.querySelector(sel);"
            " return !!s && s.innerText !== before; }", arg=[stage, stage_before], timeout=LIVE_TIMEOUT_MS)
        assert wall.query_selector(row + ".flash"), "accepting leaves the alarm for a lead to see"

        # The drawer reloads after an action (a second round trip after the message): a key
        # pressed before that would send the version from before the accept, and the console
        # would answer with a conflict, as it must. A lead reads the new state first.
        page.wait_for_function("() => document.getElementById('console-drawer-summary').innerText"
                               ".includes('已受理')", timeout=LIVE_TIMEOUT_MS)
        page.click("#console-actions [data-shortcut='g']", timeout=LIVE_TIMEOUT_MS)  # ack the alarm
        wall.wait_for_selector(row + ":not(.flash)", timeout=LIVE_TIMEOUT_MS)
        assert wall.query_selector(row + " .board-alarm") is None
        save_screenshot(page, "journey-console")
    finally:
        operator.close()


def test_a_leader_sees_the_metrics_and_downloads_a_csv(live_server, page):
    login(page, live_server, f"{TOWN}-leader-1", next_path="/metrics")
    page.wait_for_selector("#metrics-root .metrics-card")
    assert len(page.query_selector_all(".metrics-card")) >= 4
    save_screenshot(page, "journey-metrics")
    with page.expect_download(timeout=LIVE_TIMEOUT_MS) as info:
        page.click("#metrics-export-csv")
    download = info.value
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    content = Path(download.path()).read_bytes().decode("utf-8-sig")
    assert len(content.splitlines()) >= 2, f"a header and rows: {content[:200]!r}"


def test_markup_in_a_description_shows_as_text_on_the_wall_and_in_the_console(live_server, page):
    login(page, live_server, f"{TOWN}-shiftlead-1", next_path=f"/wall/town/{TOWN}")
    open_wall(page, live_server, f"/wall/town/{TOWN}")
    incident = live_server.report(description=XSS)
    entry = page.wait_for_selector(feed_entry(incident["id"]), timeout=LIVE_TIMEOUT_MS)
    assert "<script>window.pwned=1" in entry.inner_text(), "the description (shortened) shows as typed"
    assert page.query_selector("#wall-feed-list img") is None
    open_in_console(page, live_server, incident["id"])
    summary = page.inner_text("#console-drawer-summary")
    assert XSS in summary and page.query_selector("#console-drawer img[src='x']") is None
    assert page.evaluate("typeof window.pwned") == "undefined"


def test_logging_out_ends_the_session(live_server, page):
    login(page, live_server, f"{TOWN}-shiftlead-1", next_path="/console")
    page.wait_for_selector("#console-root")
    page.click("#user-bar-logout")
    page.wait_for_url(lambda url: urlsplit(url).path == "/login")
    page.goto(live_server.url + "/console")
    page.wait_for_url(lambda url: url.endswith("/login?next=/console"))
    assert page.query_selector("#console-root") is None and page.query_selector("#login-current") is None
