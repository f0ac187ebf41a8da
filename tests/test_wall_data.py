"""What a wall reads and how it is delivered, without a browser: the board's order, the
headline numbers, the feed, and the HTTP side (compression, plotly's geo bundle, timing).

Real SQLite file and real redis-server; incidents go through the lifecycle functions and
the relay, with explicit times (the clock is the only thing set by hand).
"""
from __future__ import annotations

import gzip
import json
import re
from datetime import timedelta

import plotly.graph_objects as go
import pytest
from plotly.io.json import to_json_plotly
from plotly.offline import get_plotlyjs_version

from dashboard.delivery import PLOTLY_GEO
from dashboard.wall import data, panels, view
from dashboard.wall.names import Names
from models import lifecycle
from models.actor import Actor
from models.db import make_session_factory
from models.sla import CITY_ZONE
from tests.api_support import api, client, logged_in_request, login_client  # noqa: F401, F811
from tests.components import find
from tests.factories import T0, make_incident, make_world
from workers.live import publish_committed, read_cursor, read_live_incident

SLA = Actor.system("sla")


@pytest.fixture
def world(session):
    return make_world(session)


@pytest.fixture
def names(engine):
    return Names(make_session_factory(engine))


def relay(engine, redis, now=None) -> None:
    publish_committed(make_session_factory(engine), redis, now=now)


def test_warm_names_answer_without_reading_sql(engine, world):
    from sqlalchemy import event
    warmed = Names(make_session_factory(engine))
    warmed.warm()
    statements = []

    def note(_conn, _cursor, statement, *_):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert warmed.area(world.areas["A"].id).code == world.areas["A"].code
        assert warmed.has_wall(world.areas["A"].id)
        assert statements == [], "a warmed cache reads nothing on a request"
        Names(make_session_factory(engine)).area(world.areas["A"].id)
        assert statements, "a cold one reads on its first request"
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_the_board_puts_new_breaches_first_then_what_can_still_be_saved():
    at = T0
    alarm_old = {"id": 1, "alarm_at": at, "due_at": at}
    alarm_new = {"id": 2, "alarm_at": at + timedelta(minutes=5), "due_at": at}
    late = {"id": 3, "alarm_at": None, "due_at": at}
    soon = {"id": 4, "alarm_at": None, "due_at": at + timedelta(hours=1)}
    escalated = {"id": 5, "alarm_at": at + timedelta(minutes=9), "due_at": at + timedelta(hours=2)}
    board = data.pick_board([alarm_new, late, alarm_old], [soon, escalated], rows=4)
    assert [i["id"] for i in board] == [5, 2, 1, 4]


def test_the_wall_reads_counts_board_and_alarms_from_redis(session, engine, redis, world, names):
    kept = make_incident(session, world, now=T0)
    breached = make_incident(session, world, now=T0 + timedelta(minutes=1))
    elsewhere = make_incident(session, world, grid="B1a", now=T0 + timedelta(minutes=2))
    session.commit()
    now = breached.due_at + timedelta(seconds=30)
    lifecycle.breach(session, breached, SLA, expected_version=breached.version,
                     stage=breached.due_stage, deadline=breached.due_at, now=now)
    session.commit()
    relay(engine, redis)
    town = world.areas["A"].id
    live = data.read_live(redis, names, town, "zh", now)
    counts = {h.key: h.value for h in live["headlines"]}
    assert counts["open"] == 2, "two open incidents in town A (the third is in town B)"
    assert counts["overdue"] >= 1
    assert [row["id"] for row in live["board"]][0] == breached.id
    assert live["board"][0]["alarm"] and live["board"][0]["band"] == "red"
    assert {row["id"] for row in live["board"]} == {kept.id, breached.id}
    assert elsewhere.id not in {row["id"] for row in data.read_live(
        redis, names, world.areas["A1"].id, "zh", now)["board"]}


def test_the_feed_lists_the_newest_reports_of_the_area_from_redis(session, engine, redis, world,
                                                                  names):
    first = make_incident(session, world, description="<script>alert(1)</script>楼道堆放杂物")
    second = make_incident(session, world, now=T0 + timedelta(minutes=1), description="噪音扰民")
    elsewhere = make_incident(session, world, grid="B1a", now=T0 + timedelta(minutes=2))
    session.commit()
    now = T0 + timedelta(minutes=3)
    relay(engine, redis, now)
    town = data.read_live(redis, names, world.areas["A"].id, "zh", now)["feed"]
    assert [e["id"] for e in town] == [second.id, first.id], "newest first, only the town's own"
    assert town[1]["text"].startswith("<script>"), "kept as text: wall.js writes text, never HTML"
    city = data.read_live(redis, names, world.areas["A"].parent_id, "zh", now)["feed"]
    assert [e["id"] for e in city] == [elsewhere.id, second.id, first.id]
    for incident in (first, second):  # set aside: closed, gone from the live hashes
        lifecycle.invalidate(session, incident, world.actors["lead-A"], expected_version=incident.version,
                             reason="重复上报", now=now)
    session.commit()
    relay(engine, redis, now)
    assert all(read_live_incident(redis, i.id) is None for i in (first, second))
    again = data.read_live(redis, names, world.areas["A"].id, "zh", now)["feed"]
    assert [e["id"] for e in again] == [second.id, first.id], "a report stays listed after it closes"
    from_sql = data.list_feed(session, names, "town", world.areas["A"].id, "zh")
    assert [e["id"] for e in from_sql] == [second.id, first.id]


def test_the_state_a_wall_draws_is_formatted_in_its_language_and_in_shanghai_time(
        session, engine, redis, world, names):
    incident = make_incident(session, world, now=T0, description="井盖缺失")
    session.commit()
    now = T0 + timedelta(minutes=1)
    relay(engine, redis, now)
    live = data.read_live(redis, names, world.areas["A"].id, "en", now)
    state = view.live_view(live, "en")
    assert state["seq"] == read_cursor(redis) and state["at"] == now.isoformat()
    assert [k["key"] for k in state["kpis"]] == ["reported", "open", "overdue", "on_time_rate",
                                                 "dispute_rate"]
    entry = state["feed"][0]
    local = T0.astimezone(CITY_ZONE)
    assert entry == {"id": incident.id, "time": local.strftime("%H:%M"), "item": live["feed"][0]["item"],
                     "area": live["feed"][0]["area"], "text": "井盖缺失"}
    row = state["board"][0]
    due = incident.due_at.astimezone(CITY_ZONE)
    assert row["id"] == incident.id and row["due"] == incident.due_at.isoformat()
    assert row["due_label"] == due.strftime("%m-%d %H:%M") and row["alarm"] == ""
    assert row["stage"] == {"accept": "accept", "dispatch": "dispatch", "handle": "handle",
                            "check": "check"}[incident.due_stage]
    json.dumps(state)  # what the stream sends


def test_streams_of_one_wall_share_a_state_until_a_newer_change_needs_a_new_one():
    reads = []

    def read(area_id, lang):
        reads.append((area_id, lang))
        return {"seq": len(reads) * 10, "area": area_id}

    states = view.LiveStates(read, max_age=60)
    first = states.get(7, "zh", seq=5)
    assert states.get(7, "zh", seq=10) is first, "a second screen gets the state already read"
    assert states.get(7, "en", seq=10)["seq"] == 20, "another language is another state"
    assert states.get(7, "zh", seq=11)["seq"] == 30, "a change after the kept state reads anew"
    assert states.get(7, "zh", seq=None, fresh=True)["seq"] == 40, "after an outage: read anew"
    assert states.reads == 4 and all("ms" in s for s in (first,))
    stale = view.LiveStates(read, max_age=-1)
    stale.get(8, "zh")
    stale.get(8, "zh")
    assert stale.reads == 2, "a state older than max_age is not shared"


def test_the_feed_keeps_the_newest_rows_however_many_arrive_between_refreshes(session, engine, redis,
                                                                             world, names):
    made = [make_incident(session, world, now=T0 + timedelta(seconds=n)) for n in range(12)]
    session.commit()
    relay(engine, redis, T0 + timedelta(minutes=1))
    feed = data.read_live(redis, names, world.areas["A"].id, "zh", T0 + timedelta(minutes=1))["feed"]
    assert [e["id"] for e in feed] == [i.id for i in reversed(made)][:data.FEED_ROWS]


@pytest.mark.parametrize(("key", "value", "before", "expected"), [
    ("overdue", 12, 8, "bad"), ("overdue", 3, 8, "good"),
    ("on_time_rate", 0.9, 0.8, "good"), ("reported", 5, None, "flat"), ("open", 4, 4, "flat"),
])
def test_the_change_against_last_week_says_whether_it_is_good(key, value, before, expected):
    rate = key.endswith("rate")
    headline = data.Headline(key, value, before, is_rate=rate, higher_is_better=rate)
    shown = view.kpi_view(headline, "zh")
    assert shown["tone"] == expected
    if expected != "flat":
        amount = f"{abs(value - before) * 100:.1f} 个百分点" if rate else str(abs(value - before))
        assert shown["delta"] == f"较上周同期 {'▲' if value > before else '▼'} {amount}"


def test_a_kpi_is_shown_formatted_in_the_walls_language():
    rate = view.kpi_view(data.Headline("on_time_rate", 0.9123, None, is_rate=True), "en")
    assert rate == {"key": "on_time_rate", "label": "On-time closure", "value": "91.2%",
                    "delta": "vs same time last week —", "tone": "flat"}
    count = view.kpi_view(data.Headline("reported", 12345, 12000), "zh")
    assert count["value"] == "12,345" and count["label"] == "今日上报"
    assert view.kpi_view(data.Headline("open", None, 3), "zh")["value"] == "暂无"


def test_the_wall_serves_plotly_geo_compressed_and_the_same_version_as_dash(api, client):
    assert f"v{get_plotlyjs_version()}" in PLOTLY_GEO.read_text()[:200], \
        "vendor/ must hold the geo bundle of the plotly.js version Dash ships"
    answer = client.get("/_dash-component-suites/plotly/package_data/plotly.v7_1_0m1.min.js",
                        headers={"Accept-Encoding": "gzip, br"})
    assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(answer.get_data()) == PLOTLY_GEO.read_bytes()
    assert len(answer.get_data()) < 600_000
    # dash-renderer asks at a URL with no version in it: kept an hour, then revalidated.
    plain = "/_dash-component-suites/plotly/package_data/plotly.min.js"
    fresh = client.get(plain, headers={"Accept-Encoding": "gzip"})
    assert fresh.headers["Cache-Control"] == "public, max-age=3600" and fresh.headers["ETag"]
    again = client.get(plain, headers={"Accept-Encoding": "gzip", "If-None-Match": fresh.headers["ETag"]})
    assert again.status_code == 304 and not again.get_data()
    raw = client.get(plain)
    assert "Content-Encoding" not in raw.headers and raw.get_data() == PLOTLY_GEO.read_bytes()
    assert raw.headers["ETag"] != fresh.headers["ETag"], "each encoding is its own entity"


def test_the_event_stream_is_never_compressed_and_answers_carry_server_timing(api, client):
    from sqlalchemy import select

    from models.area import Area
    with api.server.extensions["grid"].sessions() as session:
        city = session.scalar(select(Area.id).where(Area.level == "city"))
    login_client(client, "city-operator-1")
    stream = client.get(f"/wall/stream/{city}", headers={"Accept-Encoding": "gzip, br"},
                        buffered=False)
    assert "Content-Encoding" not in stream.headers
    assert b"event: hello" in next(stream.response)
    stream.close()
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("Content-Encoding") == "gzip"
    timing = re.fullmatch(r"app;dur=([\d.]+), cpu;dur=([\d.]+)", page.headers["Server-Timing"])
    assert timing, page.headers["Server-Timing"]
    assert 0 <= float(timing[2]) <= float(timing[1]) + 0.1  # the thread's CPU time within the wall clock


def test_a_walls_html_preloads_plotly_and_other_pages_do_not(api, client):
    from dashboard.delivery import PLOTLY_URL
    login_client(client, "city-operator-1")
    preload = f"<{PLOTLY_URL}>; rel=preload; as=script"
    for path in ("/wall", "/wall/town/441900004", "/wall/village/441900004002"):
        assert client.get(path).headers.getlist("Link") == [preload], path
    for path in ("/metrics", "/", "/wall/state/1"):  # another page with graphs, the home page, a wall's state
        answer = client.get(path)
        assert answer.status_code == 200 and "Link" not in answer.headers, (path, answer.status_code)
    # the URL preloaded is the one dash-renderer gives dcc.Graph, and answers plotly.js
    config = api._config()
    assert config["serve_locally"] and PLOTLY_URL == \
        config["requests_pathname_prefix"] + "_dash-component-suites/plotly/package_data/plotly.min.js"
    bundle = client.get(PLOTLY_URL)
    assert bundle.status_code == 200 and bundle.get_data() == PLOTLY_GEO.read_bytes()


def test_a_wall_carries_its_maps_boundaries_once_as_a_string_the_figure_names(api):
    from dashboard.wall.pages import city_wall, town_wall
    for path, build in (("/wall", city_wall), ("/wall/town/441900004", lambda: town_wall(code="441900004"))):
        with logged_in_request(api, "city-operator-1", path):
            page = build()
        state, trace = find(page, "wall-state"), find(page, "wall-map").figure["data"][0]
        key = trace["geojson"]
        assert key.startswith("grid-map:") and getattr(state, "data-geo-key") == key, path
        boundaries = json.loads(getattr(state, "data-geo"))
        assert [f["id"] for f in boundaries["features"]] == trace["locations"], path
        assert all(f["geometry"]["coordinates"] for f in boundaries["features"]), path
        encoded = to_json_plotly(page)  # what Dash's page callback sends
        assert encoded.count('\\"coordinates\\"') == len(boundaries["features"]), "once, escaped in one string"
        assert '"coordinates"' not in encoded, "never as nested lists in the figure"


def test_a_wall_says_when_it_refreshes_itself_and_says_nothing_when_told_never(api):
    from dashboard.wall.pages import village_wall
    path, build = "/wall/village/441900004002", lambda: village_wall(code="441900004002")
    with logged_in_request(api, "city-operator-1", path):
        root = find(build(), "wall-root")
    assert (getattr(root, "data-refresh-at"), getattr(root, "data-refresh-spread")) == ("04:00", "20"), \
        "the default: daily from 04:00 Shanghai, spread over 20 minutes"
    api.server.config.update(WALL_REFRESH_AT="02:30", WALL_REFRESH_SPREAD_MIN=0)
    with logged_in_request(api, "city-operator-1", path):
        root = find(build(), "wall-root")
    assert (getattr(root, "data-refresh-at"), getattr(root, "data-refresh-spread")) == ("02:30", "0")
    api.server.config["WALL_REFRESH_AT"] = None
    with logged_in_request(api, "city-operator-1", path):
        root = find(build(), "wall-root")
    assert not hasattr(root, "data-refresh-at") and not hasattr(root, "data-refresh-spread")


def test_a_wall_for_an_unknown_area_says_so(api, client):
    from dashboard.wall.pages import town_wall
    with logged_in_request(api, "city-operator-1", "/wall/town/nope"):
        page = town_wall(code="nope")
    assert page.className == "wall-missing" and "没有这个区域" in str(page.children)


def test_the_headlines_carry_the_cursor_of_the_live_state_they_show(session, engine, redis, world,
                                                                    names):
    make_incident(session, world)
    make_incident(session, world, now=T0 + timedelta(seconds=1))
    session.commit()
    relay(engine, redis, T0 + timedelta(minutes=1))
    live = data.read_live(redis, names, world.areas["A"].id, "zh", T0 + timedelta(minutes=1))
    assert live["seq"] == read_cursor(redis) and live["seq"] >= 2
    assert view.live_view(live, "zh")["seq"] == live["seq"]


def test_a_walls_panels_state_holds_both_map_modes_the_trend_and_the_categories(api, redis):
    from sqlalchemy import func, select

    from dashboard.wall import geo
    from models.area import Area
    from models.catalogue import Category
    from workers import keys
    server = api.server
    names = server.extensions["grid_names"]
    with server.extensions["grid"].sessions() as session:
        city = session.scalar(select(Area.id).where(Area.level == "city"))
        towns = session.scalar(select(func.count()).select_from(Area).where(Area.parent_id == city))
        fire, dispute = session.scalars(select(Category).order_by(Category.id).limit(2)).all()
        hours = [f"2026-11-23T{h:02d}:00:00+00:00" for h in range(24)]
        figures = {"area_id": city, "level": "city", "at": "2026-11-23T23:00:00+00:00", "today": {},
                   "last_week": {}, "trend": {"hours": hours, "this_week": [3] * 24, "last_week": [2] * 24},
                   "categories": [{"category_id": fire.id, "today": 1200, "last_week": 300},
                                  {"category_id": dispute.id, "today": 600, "last_week": 1500}]}
        redis.set(keys.WALL_FIGURES.format(area_id=city), json.dumps(figures))
        zh = panels.read_panels(redis, session, names, city, "zh")
        en = panels.read_panels(redis, session, names, city, "en")
        again = panels.read_panels(redis, session, names, city, "zh")
        redis.set(keys.WALL_FIGURES.format(area_id=city),
                  json.dumps({**figures, "at": "2026-11-23T23:01:00+00:00"}))
        later = panels.read_panels(redis, session, names, city, "zh")
        area_map = geo.load_children_map(session, city)
    assert len(zh["map"]["count"]["z"]) == len(area_map.ids) == towns, "a colour for every town drawn"
    assert zh["map"]["count"]["colorbar"]["title"]["text"] == "近24小时上报"
    assert zh["map"]["anomaly"]["zmax"] == geo.ANOMALY_MAX
    assert en["map"]["anomaly"]["colorbar"]["title"]["text"] == "Anomaly score"
    for mode in geo.MODES:  # each mode draws on the page's own figure, as the browser does
        page = geo.build_map_figure(area_map, zh["map"]["count"], "zh")
        go.Figure({**page, "data": [{**page["data"][0], **zh["map"][mode]}]})
    assert [(c["name"], c["count"], c["bar"], c["last"]) for c in zh["categories"]] == [
        (fire.name_zh, "1,200", 80.0, 20.0), (dispute.name_zh, "600", 40.0, 100.0)]
    assert zh["categories"][1]["title"] == "上周同期: 1,500"
    assert en["categories"][0]["name"] == (fire.name_en or fire.name_zh)
    assert zh["at"] == figures["at"]
    assert again["sign"] == zh["sign"] != en["sign"], "the same panels, the same sign"
    assert later["sign"] != zh["sign"], "new figures, a new sign"
    json.dumps(zh)  # what the stream sends


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_trend_is_a_column_per_hour_against_last_week_in_the_walls_language(lang):
    hours = [f"2026-11-23T{h:02d}:00:00+00:00" for h in range(24)]  # 08时 to 07时 in Shanghai
    trend = panels.trend_view({"trend": {"hours": hours, "this_week": list(range(24)),
                                         "last_week": [5] * 23 + [1234]}}, lang)
    columns = trend["columns"]
    assert [c["id"] for c in columns] == list(range(24)), "oldest first, one slot per hour"
    assert trend["top"] == "1,500" and trend["mid"] == "750"  # 1,234 × 1.05 -> a round top
    assert (columns[1]["bar"], columns[1]["last"]) == (0.1, 0.3)  # 1 and 5 of 1,500, in percent
    assert columns[23]["last"] == 82.3 and columns[23]["bar"] == 1.5
    labelled = [c["hour"] for c in columns if c["hour"]]
    assert labelled == (["09时", "12时", "15时", "18时", "21时", "00时", "03时", "06时"] if lang == "zh"
                        else ["09:00", "12:00", "15:00", "18:00", "21:00", "00:00", "03:00", "06:00"]), \
        "every third hour, in Asia/Shanghai"
    assert columns[0]["title"] == ("08时 本周: 0 · 上周同期: 5" if lang == "zh"
                                   else "08:00 This week: 0 · Last week: 5")


def test_the_trend_has_no_columns_before_the_first_figures():
    assert panels.trend_view(None, "zh") == {"top": "", "mid": "", "columns": []}
    assert panels.trend_view({"trend": {"hours": [], "this_week": [], "last_week": []}}, "en")["columns"] == []


def test_the_trend_axis_ends_on_a_round_number_and_holds_while_the_day_creeps_up():
    hours = [f"2026-11-23T{h:02d}:00:00+00:00" for h in range(24)]

    def top(peak: int) -> str:
        trend = {"hours": hours, "this_week": [0] * 23 + [peak], "last_week": [40] * 24}
        view = panels.trend_view({"trend": trend}, "zh")
        assert view["columns"][0]["last"] == round(100 * 40 / float(view["top"]), 1)
        return view["top"]

    assert {top(peak) for peak in range(50, 57)} == {"60"}  # 56 × 1.05 = 58.8: still 60
    assert top(58) == "80" and top(10) == "50"  # above 60 it steps up; last week's 40 keeps 50
    assert panels.trend_view({"trend": {"hours": hours, "this_week": [0] * 24, "last_week": [0] * 24}},
                             "zh")["mid"] == "7.5", "an empty day still has an axis: 10 × 1.05 -> 15"
