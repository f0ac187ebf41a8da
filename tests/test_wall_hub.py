"""The wall's push path: the process's Redis listener (LiveHub) and the SSE stream.

Real redis-server throughout; the outage test stops and restarts a server of its own on
the same port, as an operator restarting Redis would.
"""
from __future__ import annotations

import json
import time

import pytest
import redis as redis_lib

from dashboard.wall.hub import LiveHub
from dashboard.wall.stream import PanelsSender, generate, sse, with_state
from tests.api_support import api, client, login_client  # noqa: F401, F811  (fixtures)
from workers import keys
from workers.embedded_redis import EmbeddedRedis


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def publish(redis, area_id: int, seq: int, action: str = "report", incident_id: int | None = None):
    notice = {"seq": seq, "incident_id": incident_id or seq, "action": action, "state": "REPORTED",
              "version": 1, "open": True, "areas": [area_id], "at": "2026-11-23T01:00:00+00:00"}
    return redis.publish(keys.CHANNEL_AREA.format(area_id=area_id), json.dumps(notice))


@pytest.fixture
def hub(redis_server):
    hub = LiveHub(redis_server.url, socket_timeout=2, retry=0.1, ping_every=0.5)
    yield hub
    hub.stop()


def parse(chunk: str) -> tuple[str, dict]:
    lines = dict(line.split(": ", 1) for line in chunk.strip().splitlines() if ": " in line)
    return lines.get("event", ""), json.loads(lines["data"]) if "data" in lines else {}


def test_a_notice_reaches_the_walls_of_its_area_only(hub, redis):
    town, other = hub.subscribe(7), hub.subscribe(8)
    wait_for(lambda: hub.connected, what="the hub to connect")
    for sub in (town, other):  # walls open before the hub connected are told to re-sync
        assert sub.take(1).status == {"live": True, "resync": True}
    wait_for(lambda: publish(redis, 7, seq=41, incident_id=5), what="a subscriber on Redis")
    got = town.take(5)
    assert got is not None and got.count == 1 and got.seq == 41 and got.reports == [5]
    assert other.take(0.3) is None


def test_a_burst_reaches_the_browser_as_few_coalesced_messages(hub, redis):
    stream = generate(hub, 7, window=0.3, heartbeat=5)
    event, hello = parse(next(stream))
    assert event == "hello" and hello["area_id"] == 7
    wait_for(lambda: hub.connected and hub.count_subscriptions() == 1, what="the subscription")
    for seq in range(1, 201):
        publish(redis, 7, seq, action="report" if seq % 2 else "dispatch")
    events, total = [], 0
    while total < 200:
        event, data = parse(next(stream))
        if event == "change":
            events.append(data)
            total += data["n"]
    assert total == 200
    assert len(events) <= 4, f"200 notices in a burst should make a few messages, not {len(events)}"
    assert events[-1]["seq"] == 200
    assert sum(e["actions"].get("dispatch", 0) for e in events) == 100
    assert all(len(e["reports"]) <= 20 for e in events)
    stream.close()
    assert hub.count_subscriptions() == 0, "a closed stream must leave the hub"


def test_each_message_carries_the_state_after_its_notices(hub, redis):
    asked = []

    def state(seq, fresh):
        asked.append((seq, fresh))
        return {"seq": seq or 0, "fresh": fresh}

    stream = generate(hub, 7, window=0.05, heartbeat=5, state=state)
    event, hello = parse(next(stream))
    assert event == "hello" and hello["state"] == {"seq": 0, "fresh": False}
    wait_for(lambda: hub.connected and hub.count_subscriptions() == 1, what="the subscription")
    publish(redis, 7, seq=12)
    while True:
        event, data = parse(next(stream))
        if event == "change":
            break
        assert event == "status" and data["state"]["fresh"], "a re-sync reads the state afresh"
    assert data["seq"] == 12 and data["state"] == {"seq": 12, "fresh": False}, \
        "the state is asked to reflect at least the notices it is sent with"
    assert (12, False) in asked
    stream.close()


def test_the_slow_panels_go_out_on_connect_and_then_only_when_they_changed(hub, redis):
    signs = iter(["a", "a", "a", "b", "b", "c"] + ["c"] * 1000)
    asked = []

    def panels(seq, fresh):
        asked.append(fresh)
        return {"seq": 0, "sign": next(signs)}

    stream = generate(hub, 7, window=0.05, heartbeat=0.02, panels=panels, panels_every=0.05)
    event, hello = parse(next(stream))
    assert event == "hello" and hello["panels"] == {"seq": 0, "sign": "a"}
    sent = []
    while len(asked) < 12:
        event, data = parse(next(stream))
        if event == "panels":
            sent.append(data["sign"])
    assert sent == ["b", "c"], "a panels state goes out once, when it changed"
    stream.close()


def test_coming_back_from_an_outage_sends_both_states_read_afresh():
    slow = PanelsSender(lambda seq, fresh: {"sign": "s", "fresh": fresh}, every=15)
    status = with_state({"live": True, "resync": True}, lambda seq, fresh: {"fresh": fresh}, slow)
    assert status["state"] == {"fresh": True} and status["panels"] == {"sign": "s", "fresh": True}
    assert with_state({"live": False}, lambda seq, fresh: {}, slow) == {"live": False}
    assert slow.sign == "s", "what was sent is remembered: the next check sends only a change"


def test_a_state_redis_could_not_give_is_sent_as_none():
    lost, hub = [], LiveHub("redis://127.0.0.1:1", socket_timeout=0.2, retry=5)
    try:
        stream = generate(hub, 3, window=0.05, heartbeat=5, state=lambda seq, fresh: lost.append(seq))
        event, hello = parse(next(stream))
        assert event == "hello" and hello["state"] is None and lost == [None]
        stream.close()
    finally:
        hub.stop()


def test_line_breaks_in_a_text_stay_inside_its_event():
    text = "楼道堆放杂物\n\nevent: hello\r\ndata: {}\u2028完"
    chunk = sse("change", {"state": {"feed": [{"text": text}]}})
    assert chunk.endswith("\n\n") and chunk.count("\n") == 3 and "\r" not in chunk
    event, data = chunk.split("\n")[:2]  # the event stream's own line ends: CR, LF, CRLF
    assert event == "event: change" and json.loads(data.removeprefix("data: ")) == {
        "state": {"feed": [{"text": text}]}}
    assert "楼道" in chunk, "Chinese goes as UTF-8, not \\u escapes"


def test_a_quiet_stream_sends_heartbeats(hub):
    stream = generate(hub, 7, window=0.1, heartbeat=0.2)
    assert parse(next(stream))[0] == "hello"
    events = [parse(next(stream)) for _ in range(3)]  # the hub's first connect may come first
    pings = [data for event, data in events if event == "ping"]
    assert pings and all(set(data) == {"live"} for data in pings)
    stream.close()


def test_losing_redis_tells_every_wall_and_coming_back_asks_for_a_resync(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", persist=False).start()
    hub = LiveHub(server.url, socket_timeout=1, retry=0.1, ping_every=0.3)
    try:
        sub = hub.subscribe(3)
        wait_for(lambda: hub.connected, what="the hub to connect")
        server.stop()
        down = wait_for(lambda: sub.take(0.2), what="a status after Redis stopped")
        assert down.status == {"live": False, "resync": False}
        assert not hub.connected
        server.start()
        up = wait_for(lambda: sub.take(0.2), what="a status after Redis came back")
        assert up.status == {"live": True, "resync": True}
        client = redis_lib.Redis.from_url(server.url, decode_responses=True)
        wait_for(lambda: publish(client, 3, seq=9), what="the hub to subscribe again")
        again = wait_for(lambda: sub.take(0.2), what="notices after the outage")
        assert again.seq == 9
        client.close()
    finally:
        hub.stop()
        server.stop()


def test_the_stream_route_refuses_an_area_without_a_wall(api, client):
    login_client(client, "city-operator-1")
    answer = client.get("/wall/stream/999999")
    assert answer.status_code == 404
    assert answer.get_json()["field"] == "area_id"


def test_the_stream_route_opens_an_event_stream(api, client):
    from sqlalchemy import select

    from models.area import Area
    from models.enums import AreaLevel
    with api.server.extensions["grid"].sessions() as session:
        town = session.scalar(select(Area.id).where(Area.level == AreaLevel.TOWN).limit(1))
        grid = session.scalar(select(Area.id).where(Area.level == AreaLevel.GRID).limit(1))
    login_client(client, "city-operator-1")
    assert client.get(f"/wall/stream/{grid}").status_code == 404, "grids have no wall"
    answer = client.get(f"/wall/stream/{town}?lang=en", buffered=False)
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    event, hello = parse(next(answer.response).decode().split("\n", 1)[1])
    assert event == "hello" and hello["area_id"] == town
    assert hello["state"]["kpis"][0]["label"] == "Reported today", "the wall's own language"
    answer.close()
    wrong = client.get(f"/wall/stream/{town}?lang=de")
    assert wrong.status_code == 422 and wrong.get_json()["field"] == "lang"
