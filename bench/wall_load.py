"""Benchmark: a wall's first load: time to fully drawn, and page weight.

Targets (issue 4): the city wall (3,106 grids in the city; its map draws the 35 towns) fully
drawn within 2 s of navigation start, median of 5 cold loads; 1.5 MB or less transferred.
The same for one town wall and one village wall (the busiest town and its busiest village).
Run: .venv/bin/python -m bench.wall_load [--loads 5] [--rate 0] [--pin]

A whole system (bench/wall_system.py: workers, embedded Redis, gunicorn -w 2 --threads 16)
on a copy of the seeded city with 8 days of history; by default no background load (--rate
adds reports/s through the API). Each load is a new browser context (empty cache, new
connections). "Fully drawn" is the first moment, on the page's clock (performance.now(),
0 = navigation start), at which a MutationObserver (installed before any page script) sees
all three: the map's choropleth paths (`#wall-map .choroplethlayer path`), the trend drawn
(`#wall-trend` with its columns, or its "no figures yet" note) and the feed
(`#wall-feed-list` with children). Page weight is the sum of the DevTools protocol's
Network.loadingFinished encodedDataLength (bytes on the wire, headers included, after
gzip/brotli) of every request finished 1 s after fully drawn; the wall's event stream never
finishes and is left out (its bytes are pings and changes, not page weight).
The server is warm for the second load on: the first load of each wall pays the process's
one-off work (boundaries simplified and cached per area; each gunicorn worker its own).

It also gives the server time of the page callback (Dash's page router, which builds a wall's
content), from the page's Server-Timing: wall clock (`app`) and the thread's CPU (`cpu`).
On this benchmark's host the browser shares the cores with the server, and a load's
browser is busy with Dash's and plotly.js's scripts just when the callback runs, so the wall
clock there counts the browser's work too. --pin keeps them apart, as a deployment does
(a wall's browser runs on the screen's own PC): the system (gunicorn, workers, Redis) on
core 0 and Chromium on core 1 (sched_setaffinity, inherited by their processes). A pinned
run gives the server time per callback; its first loads, with the browser on one core, are
not the first-load figure. Run without --pin for that.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.common import describe_machine, figure
from bench.wall_probe import VIEWPORT, ReportLoad, launch_browser, median, percentile
from bench.wall_system import WallSystem

DRAWN = """(() => {
  const drawn = () =>
    document.querySelector('#wall-map .choroplethlayer path') &&
    document.querySelector('#wall-trend > *') &&
    document.querySelector('#wall-feed-list > *');
  const watch = () => {
    const observer = new MutationObserver(() => {
      if (window.__benchDrawn === undefined && drawn()) {
        window.__benchDrawn = performance.now();
        observer.disconnect();
      }
    });
    observer.observe(document, {childList: true, subtree: true});
  };
  if (document.documentElement) { watch(); } else { document.addEventListener('readystatechange', watch, {once: true}); }
})();"""
MILESTONES = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const all = performance.getEntriesByType('resource');
  const find = part => all.find(r => r.name.includes(part));
  const timing = (e, name) => {
    const entry = e && e.serverTiming && e.serverTiming.find(t => t.name === name);
    return entry ? entry.duration : null;
  };
  const server = e => timing(e, 'app');
  // With Dash pages the wall itself comes from the first callback (the page router).
  const page = find('/_dash-update-component'), plotly = find('plotly.min.js');
  return {html_server: server(nav), dom_ready: nav.domContentLoadedEventEnd,
          page_end: page ? page.responseEnd : null, page_server: server(page), page_cpu: timing(page, 'cpu'),
          page_bytes: page ? page.encodedBodySize : null, plotly_start: plotly ? plotly.startTime : null,
          plotly_end: plotly ? plotly.responseEnd : null};
}"""
SETTLE_MS = 1000
MB = 1_000_000
SYSTEM_CORE, BROWSER_CORE = 0, 1


class Transfers:
    """Bytes per request, from the DevTools protocol's Network domain."""

    def __init__(self, cdp):
        self.urls: dict[str, str] = {}
        self.finished: dict[str, float] = {}
        self.streaming: dict[str, float] = {}
        cdp.on("Network.requestWillBeSent", lambda e: self.urls.__setitem__(e["requestId"], e["request"]["url"]))
        cdp.on("Network.loadingFinished",
               lambda e: self.finished.__setitem__(e["requestId"], e["encodedDataLength"]))
        cdp.on("Network.dataReceived", self._data)
        cdp.send("Network.enable")

    def _data(self, event) -> None:
        request = event["requestId"]
        self.streaming[request] = self.streaming.get(request, 0) + event.get("encodedDataLength", 0)

    def total(self) -> float:
        return sum(self.finished.values())

    def unfinished(self) -> list[str]:
        return [url for rid, url in self.urls.items() if rid not in self.finished]

    def top(self, n: int = 5) -> list[tuple[float, str]]:
        return sorted(((size, self.urls.get(rid, "?")) for rid, size in self.finished.items()), reverse=True)[:n]


def cold_load(browser, url: str, state: dict | None) -> tuple[float, Transfers, dict]:
    context = browser.new_context(viewport=VIEWPORT, storage_state=state)  # cookies only: cache empty
    try:
        context.add_init_script(DRAWN)
        page = context.new_page()
        transfers = Transfers(context.new_cdp_session(page))
        page.goto(url, wait_until="commit")
        page.wait_for_function("window.__benchDrawn !== undefined", timeout=60000, polling=100)
        drawn = page.evaluate("window.__benchDrawn")
        page.wait_for_timeout(SETTLE_MS)
        return drawn, transfers, page.evaluate(MILESTONES)
    finally:
        context.close()


def short(url: str) -> str:
    path = url.split("//", 1)[-1].split("/", 1)[-1]
    return "/" + (path if len(path) <= 70 else path[:40] + "…" + path[-29:])


def milestones(marks: dict) -> str:
    """Where the time went: page HTML, scripts ready, the wall's content (built by the page
    router callback), plotly.js (fetched only once a graph is in the page)."""
    def ms(key):
        return "?" if marks.get(key) is None else f"{marks[key]:.0f}"
    return (f"HTML server {ms('html_server')} ms; DOMContentLoaded {ms('dom_ready')} ms; wall content in at "
            f"{ms('page_end')} ms (server {ms('page_server')} ms, on CPU {ms('page_cpu')} ms, {(marks.get('page_bytes') or 0) / 1000:.0f} kB); "
            f"plotly.js asked at {ms('plotly_start')}, in at {ms('plotly_end')} ms")


def bench_wall(browser, name: str, url: str, loads: int, state: dict | None) -> dict:
    times, weights, servers, last = [], [], [], None
    for n in range(loads):
        drawn, transfers, marks = cold_load(browser, url, state)
        times.append(drawn)
        weights.append(transfers.total())
        servers.append((marks.get("page_server"), marks.get("page_cpu")))
        last = transfers
        print(f"    {name} load {n + 1}: drawn at {drawn:.0f} ms, {transfers.total() / MB:.3f} MB in "
              f"{len(transfers.finished)} requests; load average {os.getloadavg()[0]:.2f}", flush=True)
        print("      " + milestones(marks), flush=True)
    print(f"    {name}: largest transfers (last load):")
    for size, resource in last.top():
        print(f"      {size / 1000:8.1f} kB  {short(resource)}")
    unfinished = [short(u) for u in last.unfinished()]
    if unfinished:
        print(f"      not finished (left out): {', '.join(unfinished)}")
    return {"times": times, "weights": weights, "servers": servers}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--rate", type=float, default=0, help="background reports/s during the loads")
    parser.add_argument("--pin", action="store_true",
                        help="the system on core 0, the browser on core 1 (see the docstring)")
    args = parser.parse_args()
    print("bench/wall_load.py —", describe_machine(), flush=True)
    if args.pin:
        pin(SYSTEM_CORE)
    results = {}
    with tempfile.TemporaryDirectory(prefix="grid-wall-load-") as folder, WallSystem(Path(folder)) as system:
        if args.pin:
            pin(BROWSER_CORE)
            print(f"  pinned: the system on core {SYSTEM_CORE}, the browser on core {BROWSER_CORE}", flush=True)
        codes = system.wall_codes()
        walls = {"city": "/wall", "town": f"/wall/town/{codes['town']}",
                 "village": f"/wall/village/{codes['village']}"}
        print(f"  system up on {system.url}; background load {args.rate:g} reports/s; walls: "
              f"{', '.join(walls.values())}", flush=True)
        load = ReportLoad(system.url, system.token, system.grids(), system.items(), args.rate).start() \
            if args.rate else None
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            state = system.log_in(browser)
            for name, path in walls.items():
                results[name] = bench_wall(browser, name, system.url + path, args.loads, state)
            browser.close()
        if load is not None:
            load.stop()
    print(f"median of {args.loads} cold loads each (new browser context per load):")
    for name, result in results.items():
        print(figure(f"{name}: navigation to fully drawn", median(result["times"]), "ms",
                     f"<= 2000 ms (loads: {', '.join(f'{t:.0f}' for t in result['times'])})"))
        print(figure(f"{name}: page weight (transferred)", median(result["weights"]) / MB, "MB", "<= 1.5 MB"))
    report_page_callback(results, args.pin)


def pin(core: int) -> None:
    """This thread, and every process it starts from now on, on one core."""
    os.sched_setaffinity(0, {core})


def report_page_callback(results: dict, pinned: bool) -> None:
    """The page callback's server time over every load of every wall (the target is per
    callback, whichever wall), and its CPU time."""
    pairs = [pair for result in results.values() for pair in result["servers"] if pair[0] is not None]
    if not pairs:
        print("  page callback: no Server-Timing was read")
        return
    wall, cpu = [p[0] for p in pairs], [p[1] for p in pairs if p[1] is not None]
    where = "system and browser on cores of their own" if pinned else "browser sharing the cores"
    print(f"page callback (Dash's page router), {len(wall)} loads, {where}:")
    print(figure("  server time, p50", percentile(wall, 50), "ms", "-"))
    print(figure("  server time, p95", percentile(wall, 95), "ms",
                 "<= 50 ms" + ("" if pinned else " (read from a --pin run)")))
    print(figure("  on CPU, p95", percentile(cpu, 95), "ms", f"- (max {max(cpu):.1f} ms)" if cpu else "-"))


if __name__ == "__main__":
    main()
