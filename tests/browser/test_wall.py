"""The wall in a real headless Chromium, against the real app over HTTP, the real Redis and
a copy of the reference city.

Incidents go in through the HTTP API, as a field app would send them; breaches come from
the SLA sweeper run with a clock set past the deadline (the only thing mocked: time).
Every test logs in through the real login page first (walls are for logged-in staff).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select

from models.area import Area
from models.db import make_session_factory
from models.incident import Incident
from tests.browser.support import list_rendered_fonts, login, save_screenshot
from workers.hotspots import run_hotspot_steps
from workers.sla import sweep_breaches
from workers.wall import refresh_wall_figures

CITY, TOWN, VILLAGE, OTHER_TOWN = "441900", "441900004", "441900004002", "441900003"
GRID = "441900004002001"  # in TOWN and VILLAGE (tests.api_support.GRID)
WALLS = {"city": "/wall", "town": f"/wall/town/{TOWN}", "village": f"/wall/village/{VILLAGE}"}
LIVE_TIMEOUT_MS = 10_000


def name_of(server, code: str) -> str:
    with server.engine.connect() as conn:
        name = conn.scalar(select(Area.name_zh).where(Area.code == code))
    assert name, f"the reference city has no area {code}"
    return name


def open_wall(page, server, path: str):
    page.goto(server.url + path)
    page.wait_for_selector("#wall-root")
    page.wait_for_function("window.gridWall && window.gridWall.isLive()", timeout=LIVE_TIMEOUT_MS)
    return page


def feed_entry(incident_id: int) -> str:
    return f'#wall-feed-list .feed-entry[data-incident="{incident_id}"]'


def board_row(incident_id: int) -> str:
    return f'#wall-board .board-row[data-incident="{incident_id}"]'


def test_each_wall_shows_its_area_in_chinese_on_one_screen(live_server, page, page_log):
    login(page, live_server, "city-operator-1", next_path="/")
    for kind, path in WALLS.items():
        open_wall(page, live_server, path)
        code = {"city": CITY, "town": TOWN, "village": VILLAGE}[kind]
        assert page.inner_text(".wall-name") == name_of(live_server, code)
        assert page.inner_text(".kpi-reported .kpi-label") == "今日上报"
        fonts = list_rendered_fonts(page, ".wall-name")
        assert any("CJK" in family for family in fonts), f"no CJK font drew the name: {fonts}"
        page.wait_for_selector("#wall-map .choroplethlocation")  # the real boundaries, drawn
        plotly = page.evaluate("performance.getEntriesByType('resource')"
                               ".filter(r => r.name.endsWith('/plotly.min.js')).map(r => r.initiatorType)")
        assert plotly == ["link"], f"plotly.js must come once, by the page's preload: {plotly}"
        size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
                             " innerWidth, innerHeight]")
        assert size[0] <= size[2] and size[1] <= size[3], f"{kind} wall scrolls: {size}"
        assert save_screenshot(page, f"wall-{kind}").stat().st_size > 10_000
    assert page_log.list_external(live_server.url) == [], "the wall must need no internet"
    assert not [url for url in page_log.requests if "grid-map" in url], "boundaries come in the page"
    assert not page_log.page_errors and not page_log.console_errors, str(page_log)


def test_the_wall_scales_to_4k_and_speaks_english_by_setting(live_server, page):
    login(page, live_server, "city-operator-1", next_path="/")
    page.set_viewport_size({"width": 3840, "height": 2160})
    open_wall(page, live_server, "/wall?lang=en")
    assert page.inner_text(".kpi-reported .kpi-label") == "Reported today"
    size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert size == [3840, 2160], f"the 4K wall scrolls: {size}"
    big = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.kpi-value')).fontSize)")
    page.wait_for_function("document.querySelector('#wall-map .js-plotly-plot')?.layout?.font?.size == 40")  # 20 px doubled
    page.set_viewport_size({"width": 1920, "height": 1080})
    small = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.kpi-value')).fontSize)")
    assert abs(big / small - 2) < 0.01, f"numerals should double at 4K: {small}px -> {big}px"
    save_screenshot(page, "wall-city-en")


def test_a_report_reaches_its_city_town_and_village_walls_and_no_other(live_server, page):
    pages = {}
    login(page, live_server, "city-operator-1", next_path="/")  # the pages share its cookies
    for name, path in {**WALLS, "other": f"/wall/town/{OTHER_TOWN}"}.items():
        pages[name] = page if name == "city" else page.context.new_page()
        open_wall(pages[name], live_server, path)
    before = pages["town"].inner_text(".kpi-reported .kpi-value")
    incident = live_server.report(description="<b>楼道</b>堆放杂物<script>window.pwned=1</script>")
    for name in WALLS:
        entry = pages[name].wait_for_selector(feed_entry(incident["id"]), timeout=LIVE_TIMEOUT_MS)
        assert "楼道" in entry.inner_text() and "<b>" in entry.inner_text(), "text shows as text"
    assert pages["town"].inner_text(".kpi-reported .kpi-value") == str(int(before.replace(",", "")) + 1)
    # Once the three walls have it, the other town's has had every chance to show it too.
    pages["other"].wait_for_timeout(1000)
    assert pages["other"].query_selector(feed_entry(incident["id"])) is None
    assert pages["other"].evaluate("window.pwned") is None


def test_a_breach_flashes_until_a_shift_lead_acknowledges_it(live_server, page):
    login(page, live_server, "city-operator-1", next_path="/")
    town = page.context.new_page()
    open_wall(page, live_server, "/wall")
    open_wall(town, live_server, f"/wall/town/{TOWN}")
    incident = live_server.report()
    sessions = make_session_factory(live_server.engine)
    with sessions() as session:
        due = session.get(Incident, incident["id"]).due_at
    assert due is not None, "a new report runs the accept clock"
    sweep_breaches(sessions, live_server.redis, now=due + timedelta(seconds=1))
    for wall in (page, town):
        flashing = wall.wait_for_selector(board_row(incident["id"]) + ".flash", timeout=LIVE_TIMEOUT_MS)
        assert flashing.get_attribute("data-band") == "red"
        # Read through the selector: a re-render may replace the row the handle points at.
        wall.wait_for_function("(sel) => { const row = document.querySelector(sel);"
                               " return !!row && getComputedStyle(row).animationName === 'breach-flash'; }",
                               arg=board_row(incident["id"]) + ".flash")
    save_screenshot(page, "wall-city-breach")
    with sessions() as session:
        version = session.get(Incident, incident["id"]).version
    live_server.act(incident["id"], "ack-alarm", expected_version=version)
    for wall in (page, town):
        wall.wait_for_selector(board_row(incident["id"]) + ":not(.flash)", timeout=LIVE_TIMEOUT_MS)
        assert wall.query_selector(board_row(incident["id"]) + " .board-alarm") is None


def test_the_banner_shows_when_redis_stops_and_clears_when_it_is_back(make_live_server, own_redis, page):
    server = make_live_server(redis_server=own_redis)
    login(page, server, "441900004-operator-1", next_path="/")
    open_wall(page, server, f"/wall/town/{TOWN}")
    assert not page.is_visible("#wall-banner")
    own_redis.stop()
    page.wait_for_selector("#wall-banner", state="visible", timeout=5_000)  # the 5 s
    assert page.get_attribute("html", "data-live") == "down"
    lost = server.report(description="停电期间上报的事件")  # committed; Redis cannot hear of it
    own_redis.start()
    page.wait_for_selector("#wall-banner", state="hidden", timeout=LIVE_TIMEOUT_MS * 2)
    after = server.report(description="恢复之后上报的事件")  # its relay pass also applies `lost`
    page.wait_for_selector(feed_entry(after["id"]), timeout=LIVE_TIMEOUT_MS)
    page.wait_for_selector(feed_entry(lost["id"]), timeout=LIVE_TIMEOUT_MS)


def test_clicking_an_area_on_the_map_opens_its_wall(live_server, page):
    login(page, live_server, "city-operator-1", next_path="/")
    open_wall(page, live_server, "/wall")
    for child_path in ("/wall/town/", "/wall/village/"):
        before = page.url
        click_largest_area(page)
        page.wait_for_url(lambda url, p=child_path: p in url, timeout=LIVE_TIMEOUT_MS)
        code = page.url.rsplit("/", 1)[-1]
        page.wait_for_function("(name) => document.querySelector('.wall-name')?.innerText === name",
                               arg=name_of(live_server, code), timeout=LIVE_TIMEOUT_MS)
        page.wait_for_function("(code) => window.gridWall.area() !== null", arg=code)
        page.wait_for_selector("#wall-map .choroplethlocation")  # its boundaries, from the new page
        assert page.url != before
    page.click(".wall-up")  # and back up one level
    page.wait_for_url(lambda url: "/wall/town/" in url, timeout=LIVE_TIMEOUT_MS)


def area_id(server, code: str) -> int:
    with server.engine.connect() as conn:
        found = conn.scalar(select(Area.id).where(Area.code == code))
    assert found, f"the reference city has no area {code}"
    return found


def stream_status(page, area: int) -> int:
    """The status the wall's stream answers this page's cookies with (the body is dropped)."""
    return page.evaluate("""async (area) => {
        const answer = await fetch('/wall/stream/' + area);
        answer.body.cancel();
        return answer.status;
    }""", area)


def test_a_town_operator_sees_their_town_and_a_403_for_another_town(live_server, page):
    login(page, live_server, "441900004-operator-1")  # home: their own town's wall
    page.wait_for_url(f"**/wall/town/{TOWN}")
    page.wait_for_function("(name) => document.querySelector('.wall-name')?.innerText === name",
                           arg=name_of(live_server, TOWN))
    assert page.query_selector(".wall-up") is None, "no way up to the city wall they may not see"
    for path in (f"/wall/town/{OTHER_TOWN}", "/wall"):
        page.goto(live_server.url + path)
        notice = page.wait_for_selector(".auth-notice.auth-forbidden")
        assert "无权访问" in notice.inner_text() and page.query_selector("#wall-root") is None
    save_screenshot(page, "wall-forbidden")
    assert stream_status(page, area_id(live_server, OTHER_TOWN)) == 403
    assert stream_status(page, area_id(live_server, CITY)) == 403
    assert stream_status(page, area_id(live_server, VILLAGE)) == 200
    open_wall(page, live_server, f"/wall/village/{VILLAGE}")  # beneath their town: allowed
    page.goto(live_server.url + "/wall")
    page.click("#user-bar-logout")  # the 403 notice's user bar: a form Dash rendered
    page.wait_for_url(lambda url: urlsplit(url).path == "/login")
    assert stream_status(page, area_id(live_server, VILLAGE)) == 401


def test_a_wall_asks_for_a_login_and_comes_back_after_it(live_server, page):
    page.goto(live_server.url + f"/wall/town/{TOWN}?lang=en")
    page.wait_for_url(lambda url: urlsplit(url).path == "/login")
    assert page.inner_text("h1") == "Grid Governance Command Centre"
    page.fill("#username", "441900004-leader-1")
    page.fill("#password", "wrong password")
    page.click("#login-submit")
    assert "Wrong username or password." in page.inner_text("#login-error")
    save_screenshot(page, "login-refused-en")
    page.fill("#password", "grid-demo-2026")
    page.check("#remember")
    page.click("#login-submit")
    page.wait_for_url(lambda url: url.endswith(f"/wall/town/{TOWN}?lang=en"))
    page.wait_for_selector("#wall-root")
    assert page.inner_text(".kpi-reported .kpi-label") == "Reported today"
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["session"]["httpOnly"] and cookies["remember_token"]["httpOnly"]
    assert cookies["_csrf_token"]["sameSite"] == "Strict" and not cookies["_csrf_token"]["httpOnly"]


def test_logging_out_ends_the_walls_login(live_server, page):
    login(page, live_server, "city-operator-1", next_path="/")
    open_wall(page, live_server, "/wall")
    page.goto(live_server.url + "/login")
    assert "city-operator-1" in page.inner_text("#login-current")
    page.click("#logout-submit")
    page.wait_for_url(lambda url: urlsplit(url).path == "/login")
    assert page.query_selector("#login-current") is None
    page.goto(live_server.url + "/wall")
    page.wait_for_url(lambda url: url.endswith("/login?next=/wall"))
    assert stream_status(page, area_id(live_server, CITY)) == 401


def click_largest_area(page) -> None:
    page.wait_for_selector("#wall-map .choroplethlocation")
    box = page.evaluate("""() => {
        let best = null;
        for (const path of document.querySelectorAll('#wall-map .choroplethlocation')) {
            const r = path.getBoundingClientRect();
            if (!best || r.width * r.height > best.width * best.height) best = r;
        }
        return {x: best.x + best.width / 2, y: best.y + best.height / 2};
    }""")
    deadline = time.monotonic() + 5
    page.mouse.move(box["x"], box["y"])
    while time.monotonic() < deadline and page.query_selector(".hoverlayer .hovertext") is None:
        page.wait_for_timeout(100)
    page.mouse.click(box["x"], box["y"])


def test_live_updates_are_drawn_by_the_wall_without_dash_or_its_undo_history(live_server, page):
    """A live update is drawn by wall.js from the state the stream pushes: no Dash callback
    runs for it, and dash-renderer's undo history (which never drops an entry) stays as it
    was, so a wall's heap does not grow with every report all day."""
    login(page, live_server, "city-operator-1", next_path="/")
    open_wall(page, live_server, "/wall")
    history = "Math.max(...window.dash_stores.map(s => s.getState().history.past.length))"
    before = page.evaluate(history)
    callbacks = []
    page.on("request", lambda r: callbacks.append(r.post_data or "") if "_dash-update-component" in r.url else None)
    last = None
    for n in range(15):
        last = live_server.report(description=f"第{n}号测试事件")
        page.wait_for_selector(feed_entry(last["id"]), timeout=LIVE_TIMEOUT_MS)
    assert page.inner_text(feed_entry(last["id"]) + " .feed-text") == "第14号测试事件"
    page.wait_for_timeout(1500)  # one tick of wall.js after the last change
    assert page.evaluate(history) == before, "a live update went through dash-renderer's store"
    live = [body for body in callbacks if "wall-feed-list" in body or "wall-kpis" in body]
    assert not live, f"{len(live)} Dash callbacks for the live panels"


MAP_TRACE = "document.querySelector('#wall-map .js-plotly-plot').data[0]"
MAP_FILLS = "Array.from(document.querySelectorAll('#wall-map .choroplethlocation'), p => p.getAttribute('fill'))"
COUNT_REACTS = """() => {  // counts the page's calls of Plotly.react from now on
  const react = window.Plotly.react;
  window.plotlyReacts = 0;
  window.Plotly.react = function () { window.plotlyReacts += 1; return react.apply(this, arguments); };
}"""


def test_the_slow_panels_are_pushed_and_the_map_mode_switches_without_dash(make_live_server, page):
    """Map colours, categories and trend come on the stream like the live panels (checked
    every WALL_SLOW_SECONDS, here 1 s), and the map's mode switch is applied in the browser:
    watching a wall runs no Dash callback at all. New values recolour the map, as plotly.js
    would draw them, without a Plotly.react (each one leaves V8 more code: docs/wall.md)."""
    server = make_live_server(config={"WALL_SLOW_SECONDS": 1})
    login(page, server, "city-operator-1", next_path="/")
    open_wall(page, server, f"/wall/town/{TOWN}")
    page.wait_for_selector("#wall-map .choroplethlocation")
    callbacks = []
    page.on("request", lambda r: callbacks.append(r.post_data or "") if "_dash-update-component" in r.url else None)
    village_value = ("(() => { const gd = document.querySelector('#wall-map .js-plotly-plot');"
                     f" return gd.data[0].z[gd.data[0].customdata.indexOf('{VILLAGE}')]; }})()")
    before, legend_top = page.evaluate(village_value), page.evaluate(f"{MAP_TRACE}.zmax")
    page.evaluate(COUNT_REACTS)
    for n in range(3):
        server.report(description=f"热点测试{n}")
    with make_session_factory(server.engine)() as session:
        run_hotspot_steps(session, server.redis)
        refresh_wall_figures(session, server.redis)
    page.wait_for_function(f"{village_value} >= {before + 3}", timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate(f"{MAP_TRACE}.zmax") == legend_top, "fixture: three more reports keep the legend's top"
    assert page.evaluate("window.plotlyReacts") == 0, "new values recolour the map; they don't redraw it"
    recoloured = page.evaluate(MAP_FILLS)
    assert len(set(recoloured)) > 1, "the villages are coloured by their counts"
    page.wait_for_selector("#wall-categories .cat-row[data-category]", timeout=LIVE_TIMEOUT_MS)
    assert page.inner_text("#wall-categories .cat-row .cat-count") != ""
    page.wait_for_function("document.querySelectorAll('#wall-trend .trend-col[data-slot]').length == 24",
                           timeout=LIVE_TIMEOUT_MS)
    assert not page.query_selector("#wall-trend .empty")
    assert page.inner_text(".trend-axis .trend-top") != "", "the axis says its top"
    now_hour = page.evaluate("parseFloat(document.querySelector('#wall-trend .trend-col:last-child .trend-bar').style.height)")
    assert now_hour > 0, "this hour's reports stand in the last column"
    colour_bar = "document.querySelector('#wall-map .colorbar .cbtitle').textContent"
    assert page.evaluate(colour_bar) == "近24小时上报"
    page.click("#wall-map-mode label:has-text('异常度')")
    page.wait_for_function(f"{colour_bar} == '异常度'")
    page.click("#wall-map-mode label:has-text('上报数')")  # back: a whole Plotly.react of the counts
    page.wait_for_function(f"{colour_bar} == '近24小时上报'")
    assert page.evaluate("window.plotlyReacts") == 2, "a mode switch redraws the map"
    assert page.evaluate(MAP_FILLS) == recoloured, "the recolour matches plotly.js's own drawing"
    assert not callbacks, f"{len(callbacks)} Dash callbacks while the wall was watched"


def test_a_wall_refreshes_itself_daily_at_its_quiet_hour_only_when_its_page_answers(make_live_server, page):
    """Once a day, within WALL_REFRESH_SPREAD_MIN minutes of WALL_REFRESH_AT (Shanghai), a
    live wall reloads itself, keeping its map mode; but only after its page and state have
    answered: with its login gone the wall stays as it is (a reload would show a login form)
    and tries again a minute later. The browser's clock is the one thing set by hand."""
    shanghai = ZoneInfo("Asia/Shanghai")
    server = make_live_server(config={"WALL_REFRESH_AT": "04:00", "WALL_REFRESH_SPREAD_MIN": 20})
    login(page, server, "city-operator-1", next_path="/")
    page.clock.install(time=datetime(2026, 12, 8, 3, 50, tzinfo=shanghai))
    open_wall(page, server, f"/wall/town/{TOWN}")
    page.wait_for_function("window.gridWall.refreshDue()")  # set by the ticker's first round
    due = datetime.fromtimestamp(page.evaluate("window.gridWall.refreshDue()") / 1000, shanghai)
    assert datetime(2026, 12, 8, 4, 0, tzinfo=shanghai) <= due < datetime(2026, 12, 8, 4, 20, tzinfo=shanghai)
    page.click("#wall-map-mode label:has-text('异常度')")
    colour_bar = "document.querySelector('#wall-map .colorbar .cbtitle')?.textContent"
    page.wait_for_function(f"{colour_bar} == '异常度'")
    page.evaluate("window.stillTheSamePage = true")  # a reload forgets it

    page.clock.fast_forward("35:00")  # 04:25: past this screen's minute
    page.wait_for_function("window.stillTheSamePage === undefined", timeout=LIVE_TIMEOUT_MS)
    page.wait_for_selector("#wall-root")
    page.wait_for_function("window.gridWall && window.gridWall.isLive()", timeout=LIVE_TIMEOUT_MS)
    assert urlsplit(page.url).path == f"/wall/town/{TOWN}"
    page.wait_for_function(f"{colour_bar} == '异常度'", timeout=LIVE_TIMEOUT_MS)
    assert page.is_checked("#wall-map-mode input[value='anomaly']"), "the map mode came back"
    page.wait_for_function("window.gridWall.refreshDue()")
    due = datetime.fromtimestamp(page.evaluate("window.gridWall.refreshDue()") / 1000, shanghai)
    assert datetime(2026, 12, 9, 4, 0, tzinfo=shanghai) <= due < datetime(2026, 12, 9, 4, 20, tzinfo=shanghai), \
        "a wall refreshed inside the window waits for the next day's"

    cookies = page.context.cookies()
    page.context.clear_cookies()  # the login is gone: the page would answer with a login form
    page.evaluate("window.stillTheSamePage = true")
    page.clock.fast_forward("24:00:00")
    page.wait_for_function("document.documentElement.dataset.refresh == 'declined'", timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("window.stillTheSamePage === true") and urlsplit(page.url).path == f"/wall/town/{TOWN}"
    assert page.is_visible("#wall-root")

    page.context.add_cookies(cookies)  # logged in again: the next try reloads
    page.clock.fast_forward("01:01")
    page.wait_for_function("window.stillTheSamePage === undefined", timeout=LIVE_TIMEOUT_MS)
    page.wait_for_selector("#wall-root")
    assert urlsplit(page.url).path == f"/wall/town/{TOWN}"
