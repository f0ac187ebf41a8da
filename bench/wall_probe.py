"""What drives and watches a wall: the paced report load, the browser, and the probe.

`ReportLoad` POSTs reports through the HTTP API at a fixed rate (the background load).

`install_observer` puts a MutationObserver on the page that notes, for every
`#wall-feed-list .feed-entry[data-incident]` the first time it is in the DOM, performance.now()
in the observer's callback (a microtask right after the DOM change). `Prober` POSTs a report
from the page itself (fetch with the bearer token, same origin), notes performance.now() when
the response arrives, then waits for that incident's entry: latency = seen - arrived, both on
the page's clock. It also notes when the report first reached the page in a stream message
(wall.js dispatches each coalesced change, which carries the wall's new state, as a
`gridwall:change` event): the push path up to the browser. Anything the server does before
answering (commit, and in a push design the publish) is before `arrived`, so only the way
from a committed report to the screen is timed. Each state's `ms` (the server's time to read
and build it, dashboard/wall/view.py) is noted too: `read_live_updates`.

The slow panels (map colours, categories, trend) come on the stream too, as `panels`
events (wall.js dispatches each as `gridwall:panels`); their `ms` is noted the same way.

`CallbackLog` reads every POST /_dash-update-component response the page receives: the
`Server-Timing: app;dur=<ms>` header (dashboard/delivery.py), which callback it was (its
outputs), and when. A watched wall sends none (live and slow panels come on the stream);
the one callback left is a drill-down click, which `time_drill_downs` sends from the page
as dash-renderer would and times by the same header.
"""
from __future__ import annotations

import http.client
import json
import random
import re
import sqlite3
import statistics
import threading
import time
from pathlib import Path

DESCRIPTIONS = ["楼道堆放杂物，堵塞消防通道", "井盖缺失，存在安全隐患", "路灯损坏，夜间无照明",
                "占道经营，影响行人通行", "垃圾桶满溢，未及时清运"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1920, "height": 1080}


# ---------------------------------------------------------------- background load

def make_report(rng: random.Random, grids: list[str], items: list[str]) -> dict:
    return {"item_code": rng.choice(items), "grid_code": rng.choice(grids), "channel": "grid_worker",
            "description": rng.choice(DESCRIPTIONS)}


class ReportLoad:
    """Reports POSTed through the HTTP API at `rate` per second over random grids, paced on a
    fixed schedule by `senders` threads on keep-alive connections (a slow answer delays that
    sender's next report, never the schedule's later slots)."""

    def __init__(self, url: str, token: str, grids: list[str], items: list[str], rate: float,
                 senders: int = 12, seed: int = 1):
        self.host, self.port = url.split("//")[1].split(":")
        self.token, self.grids, self.items, self.rate, self.senders = token, grids, items, rate, senders
        self.seed, self.ok, self.failed = seed, 0, 0
        self.stop_flag = threading.Event()
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()

    def start(self) -> ReportLoad:
        self.started = time.monotonic()
        for i in range(self.senders):
            thread = threading.Thread(target=self._send, args=(i,), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self) -> float:
        """Stop; returns the rate achieved."""
        self.stop_flag.set()
        for thread in self.threads:
            thread.join(timeout=35)
        return self.ok / max(time.monotonic() - self.started, 1e-9)

    def _send(self, i: int) -> None:
        rng = random.Random(self.seed * 100 + i)
        gap = self.senders / self.rate
        due = self.started + i / self.rate
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        while not self.stop_flag.is_set():
            wait = due - time.monotonic()
            if wait > 0 and self.stop_flag.wait(wait):
                break
            due = max(due + gap, time.monotonic() - 1.0)  # fall behind by at most a second
            try:
                conn.request("POST", "/api/v1/incidents", json.dumps(make_report(rng, self.grids, self.items)),
                             headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 201
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
                ok = False
            with self.lock:
                self.ok += ok
                self.failed += not ok
        conn.close()


# ---------------------------------------------------------------- browser and figures

def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def new_screen(browser, state: dict | None):
    """A page in a browser context of its own (own cache and connections), logged in."""
    return browser.new_context(viewport=VIEWPORT, storage_state=state).new_page()


def open_wall(page, url: str, timeout_ms: float = 120000) -> None:
    """Load a wall and wait until its stream says it is live; one reload if it does not."""
    for attempt in (1, 2):
        page.goto(url)
        try:
            page.wait_for_function("window.gridWall && window.gridWall.isLive()", timeout=timeout_ms)
            return
        except Exception:
            if attempt == 2:
                raise
            print(f"  {url} not live after {timeout_ms / 1000:.0f} s; reloading", flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN when there is nothing to rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# ---------------------------------------------------------------- the probe

OBSERVER = """() => {
  if (window.__benchSeen) { return; }
  const seen = window.__benchSeen = new Map();
  const note = () => {
    const now = performance.now();
    for (const e of document.querySelectorAll('#wall-feed-list .feed-entry[data-incident]')) {
      const id = e.getAttribute('data-incident');
      if (!seen.has(id)) { seen.set(id, now); }
    }
    if (seen.size > 5000) {  // a long run: keep the newest only
      for (const id of Array.from(seen.keys()).slice(0, 2500)) { seen.delete(id); }
    }
  };
  // When each live state (the relay's cursor, `.wall-seq` in the headline numbers) is first
  // on screen: a probe is reflected once the screen shows a cursor at or past its event.
  const shown = window.__benchSeq = [];
  const noteSeq = () => {
    const marker = document.querySelector('#wall-kpis .wall-seq');
    const seq = marker ? Number(marker.getAttribute('data-seq')) : 0;
    if (!shown.length || seq > shown[shown.length - 1][0]) { shown.push([seq, performance.now()]); }
    if (shown.length > 20000) { shown.splice(0, 10000); }
  };
  note(); noteSeq();
  // Also when each report reached the page in a stream message (wall.js dispatches every
  // coalesced change as `gridwall:change`), and the server time of the state it carried.
  const signalled = window.__benchSignalled = new Map(), states = window.__benchStates = [];
  document.addEventListener('gridwall:change', (event) => {
    const now = performance.now(), data = event.detail || {};
    for (const r of data.reports || []) { if (!signalled.has(String(r))) { signalled.set(String(r), now); } }
    if (signalled.size > 5000) { for (const k of Array.from(signalled.keys()).slice(0, 2500)) { signalled.delete(k); } }
    if (data.state) { states.push([now, data.state.ms]); }
    if (states.length > 20000) { states.splice(0, 10000); }
  });
  const slow = window.__benchPanels = [];
  document.addEventListener('gridwall:panels', (event) => {
    slow.push([performance.now(), (event.detail || {}).ms]);
    if (slow.length > 20000) { slow.splice(0, 10000); }
  });
  new MutationObserver(() => { note(); noteSeq(); }).observe(document.body, {childList: true,
    subtree: true, attributes: true, attributeFilter: ['data-incident', 'data-seq']});
}"""

PROBE = """async ({token, body, timeout}) => {
  const response = await fetch('/api/v1/incidents', {method: 'POST', body: JSON.stringify(body),
    headers: {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'}});
  const arrived = performance.now();
  const data = await response.json();
  if (response.status !== 201) { return {error: response.status, detail: JSON.stringify(data)}; }
  const id = String(data.id), seen = window.__benchSeen;
  while (!seen.has(id) && performance.now() - arrived < timeout) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  const at = seen.has(id) ? seen.get(id) : null;
  const signalled = window.__benchSignalled && window.__benchSignalled.get(id);
  return {id: id, arrived: arrived, latency: at === null ? null : at - arrived,
          signal: signalled === undefined ? null : signalled - arrived};
}"""

DURATION = re.compile(r"dur=([0-9.]+)")


def install_observer(page) -> None:
    page.evaluate(OBSERVER)


class Prober:
    """Runs probes from one page: reports in random grids, spaced `gap` seconds apart."""

    def __init__(self, page, token: str, grids: list[str], items: list[str], timeout_ms: float = 5000,
                 seed: int = 99):
        self.page, self.token, self.grids, self.items = page, token, grids, items
        self.timeout_ms, self.rng = timeout_ms, random.Random(seed)
        self.latencies: list[float] = []
        self.signals: list[float] = []  # response to the stream message naming the report
        self.missed: list[str] = []
        self.errors: list[str] = []
        self.arrivals: list[tuple[int, float]] = []  # (incident id, response arrival on the page clock)
        self.reflected: list[float] = []  # response to a screen showing a cursor at or past the report
        self.unreflected = 0

    def run(self, count: int, gap: tuple[float, float] = (0.5, 1.0), progress: bool = True) -> None:
        for n in range(count):
            body = make_report(self.rng, self.grids, self.items)
            result = self.page.evaluate(PROBE, {"token": self.token, "body": body, "timeout": self.timeout_ms})
            if result.get("error"):
                self.errors.append(f"{result['error']} {result.get('detail', '')[:200]}")
                continue
            self.arrivals.append((int(result["id"]), result["arrived"]))
            if result["latency"] is None:
                self.missed.append(result["id"])
            else:
                self.latencies.append(result["latency"])
            if result.get("signal") is not None:
                self.signals.append(result["signal"])
            if progress and (n + 1) % 20 == 0:
                print(f"    {n + 1} probes: p50 {median(self.latencies):.0f} ms so far, "
                      f"{len(self.missed)} missed", flush=True)
            self.page.wait_for_timeout(self.rng.uniform(*gap) * 1000)

    def read_reflected(self, database: Path) -> None:
        """Event to screen by the live state shown (the wall's cursor marker), for every probe:
        the first moment the screen showed a cursor at or past the probe's report event. It
        does not depend on the report staying in the 8-row feed, which at 50 reports/s on the
        city wall turns over faster than a refresh."""
        shown = self.page.evaluate("() => window.__benchSeq || []")
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            seqs = dict(db.execute(
                "SELECT incident_id, id FROM incident_event WHERE action = 'report' AND incident_id IN "
                f"({','.join(str(i) for i, _ in self.arrivals) or 'NULL'})").fetchall())
        for incident_id, arrived in self.arrivals:
            seq = seqs.get(incident_id)
            at = next((when for value, when in shown if seq is not None and value >= seq), None)
            if at is None:
                self.unreflected += 1
            else:
                self.reflected.append(max(0.0, at - arrived))

    def summary(self) -> dict:
        values = self.latencies
        censored = values + [float("inf")] * len(self.missed)  # never on screen: later than any
        return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
                "all_p50": percentile(censored, 50), "all_p95": percentile(censored, 95),
                "max": max(values) if values else float("nan"), "missed": len(self.missed),
                "errors": len(self.errors), "negative": sum(v < 0 for v in values),
                "signal_n": len(self.signals), "signal_p50": percentile(self.signals, 50),
                "signal_p95": percentile(self.signals, 95),
                "state_n": len(self.reflected), "state_p50": percentile(self.reflected, 50),
                "state_p95": percentile(self.reflected, 95), "state_missed": self.unreflected}


def read_live_updates(page, since: float, until: float, kind: str = "States") -> dict:
    """The stream's live updates (`kind` "States") or slow-panel updates ("Panels") between
    two page-clock moments: how many per second, and the server time of each state they
    carried (p50 / p95)."""
    states = page.evaluate(f"([a, b]) => (window.__bench{kind} || []).filter(s => s[0] >= a && s[0] <= b)",
                           [since, until])
    times = [ms for _, ms in states if ms is not None]
    return {"count": len(states), "per_second": len(states) / max((until - since) / 1000, 1e-9),
            "p50": percentile(times, 50), "p95": percentile(times, 95)}


DRILL_DOWN = """async ({count, gap}) => {
  const root = document.getElementById('wall-root');
  const gd = document.querySelector('#wall-map .js-plotly-plot');
  const code = gd.data[0].customdata[0];
  const area = {area_id: Number(root.dataset.area), level: root.className.match(/wall-(\\w+)/)[1],
                code: null, lang: root.dataset.lang};
  const csrf = (document.cookie.match(/(?:^|; )_csrf_token=([^;]*)/) || [])[1] || '';
  const body = JSON.stringify({output: 'nav.href', outputs: {id: 'nav', property: 'href'},
    inputs: [{id: 'wall-map', property: 'clickData', value: {points: [{location: code, customdata: code}]}}],
    state: [{id: 'wall-area', property: 'data', value: area}], changedPropIds: ['wall-map.clickData']});
  const times = [], answers = [];
  for (let n = 0; n < count; n++) {
    const response = await fetch('/_dash-update-component', {method: 'POST', body,
      headers: {'Content-Type': 'application/json', 'X-CSRFToken': decodeURIComponent(csrf)}});
    const timing = (response.headers.get('server-timing') || '').match(/dur=([0-9.]+)/);
    answers.push(response.status === 200 ? (await response.json()).response.nav.href : response.status);
    if (timing) { times.push(Number(timing[1])); }
    await new Promise(done => setTimeout(done, gap));
  }
  return {times, answers};
}"""


def time_drill_downs(page, count: int = 30, gap_ms: int = 300) -> dict:
    """The server time of `count` drill-down callbacks (a click on the map's first child),
    sent from the page as dash-renderer sends them, `gap_ms` apart."""
    found = page.evaluate(DRILL_DOWN, {"count": count, "gap": gap_ms})
    wrong = [a for a in found["answers"] if not str(a).startswith("/wall/")]
    assert not wrong, f"drill-down answered {wrong[:3]}"
    times = found["times"]
    return {"count": len(times), "p50": percentile(times, 50), "p95": percentile(times, 95)}


class CallbackLog:
    """Every Dash callback response a page receives: when, which outputs, server time."""

    def __init__(self, page):
        self.entries: list[tuple[float, str, float | None]] = []
        self.recording = False
        page.on("response", self._on_response)

    def _on_response(self, response) -> None:
        if not self.recording or "/_dash-update-component" not in response.url:
            return
        match = DURATION.search(response.headers.get("server-timing", ""))
        try:
            output = (response.request.post_data_json or {}).get("output", "?")
        except ValueError:
            output = "?"
        self.entries.append((time.monotonic(), output, float(match.group(1)) if match else None))

    def start(self) -> None:
        self.entries.clear()
        self.started = time.monotonic()
        self.recording = True

    def stop(self) -> None:
        self.recording = False
        self.elapsed = time.monotonic() - self.started

    def summary(self, contains: str | None = None) -> dict:
        """Figures over the callbacks whose output names contain `contains` (all if None)."""
        picked = [e for e in self.entries if contains is None or contains in e[1]]
        timed = [e[2] for e in picked if e[2] is not None]
        return {"count": len(picked), "per_second": len(picked) / max(self.elapsed, 1e-9),
                "p50": percentile(timed, 50), "p95": percentile(timed, 95), "untimed": len(picked) - len(timed)}
