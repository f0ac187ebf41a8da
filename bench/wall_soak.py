"""Benchmark: does an open city wall leak? JS heap (and server RSS) over a long run under load.

Target (issue 4): JS heap growth of 10% or less over 60 minutes at 10 events/s, where
growth = (median of the last 3 samples - median of the first 3 samples after the warm-up)
/ median of those first 3. The warm-up (300 s) is not part of the 60 minutes: it ends after
the one drop every run shows, at about 3.5 minutes, when V8 flushes the code only start-up
ran (a baseline taken before it flatters the hour by ~5 points).
Run: .venv/bin/python -m bench.wall_soak [--minutes 60] [--rate 10] [--every 30] [--warmup 300]
(--minutes 5 --warmup 60 is a CI-size run). SIGTERM or SIGINT ends the run early: the
samples so far are reported and the system is stopped (a run started in the background
ignores SIGINT, so use `kill -TERM`).

A whole system (bench/wall_system.py: workers, embedded Redis, gunicorn -w 2 --threads 16)
on a copy of the seeded city with 8 days of history. One headless Chromium page holds the
city wall (/wall) while RATE reports a second are POSTed through the HTTP API. By default the
browser is driven over the DevTools protocol alone, without its Network domain, as a kiosk
runs (bench/cdp.py says why: with it on, Chromium records every request for the inspector,
and the heap grows with the record); --driver playwright measures through Playwright. Every
EVERY seconds the page is garbage-collected through the DevTools protocol
(HeapProfiler.collectGarbage) and Performance.getMetrics read: JSHeapUsedSize, DOM nodes and
event listeners. The gunicorn workers' VmRSS (/proc/<pid>/status) is read at the same moment.
Each sample also says whether the wall was live and which report led its feed, so a wall that
stopped updating (and so stopped allocating) cannot pass as a wall that does not leak.
With the kiosk driver, a heap snapshot is taken at the first sample after the warm-up and
another at the end, and their sizes are compared by V8 node type: "code" (compiled
functions, which V8's JIT keeps replacing as it re-optimises) apart from the page's own data
(objects, arrays, strings, closures). --no-snapshots skips them.
"""
from __future__ import annotations

import argparse
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.cdp import HeapBreakdown, KioskBrowser, read_login_cookies
from bench.common import describe_machine, figure
from bench.wall_probe import ReportLoad, launch_browser, median, new_screen, open_wall
from bench.wall_system import WallSystem, read_rss_kib

LEAD = """() => {
  const e = document.querySelector('#wall-feed-list .feed-entry[data-incident]');
  return {live: !!(window.gridWall && window.gridWall.isLive()),
          lead: e ? e.getAttribute('data-incident') : null};
}"""
CATCH_ERRORS = """window.__benchErrors = [];
addEventListener('error', e => window.__benchErrors.push(String(e.message)));
addEventListener('unhandledrejection', e => window.__benchErrors.push(String(e.reason)));"""


def growth(samples: list[dict], key) -> tuple[float, float, float]:
    """(first, last, growth) over the samples given: medians of the first and last three."""
    first = median([key(s) for s in samples[:3]])
    last = median([key(s) for s in samples[-3:]])
    return first, last, (last - first) / first if first else float("nan")


STOP = threading.Event()  # set by SIGTERM / SIGINT: end the run early, with its report


def stop_early(signum, _frame) -> None:
    print(f"  signal {signum}: stopping after this sample", flush=True)
    STOP.set()


def run(args) -> None:
    with tempfile.TemporaryDirectory(prefix="grid-wall-soak-") as folder, WallSystem(Path(folder)) as system:
        for signum in (signal.SIGTERM, signal.SIGINT):  # after WallSystem's own SIGTERM exit
            signal.signal(signum, stop_early)
        print(f"  system up on {system.url} (logs in {folder}); driver {args.driver}", flush=True)
        load = ReportLoad(system.url, system.token, system.grids(), system.items(), args.rate)
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            state = system.log_in(browser)
            if args.driver == "kiosk":
                browser.close()
                samples, leads, errors = soak_kiosk(args, system, load, state)
            else:
                samples, leads, errors = soak_playwright(args, system, load, browser, state)
                browser.close()
        rate = load.stop()
    report(args, samples, rate, load.failed, len(leads), errors)


def soak_kiosk(args, system: WallSystem, load: ReportLoad, state: dict | None):
    """The wall in a Chromium driven over the DevTools protocol only (bench/cdp.py)."""
    kiosk = KioskBrowser(read_login_cookies(state))
    try:
        kiosk.page.send("Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_ERRORS})
        kiosk.open(system.url + "/wall", "window.gridWall && window.gridWall.isLive()")

        def sample(at: float) -> dict:
            metrics = kiosk.read_heap()
            if args.snapshots and at >= args.warmup - 1 and "first" not in snapshots:
                snapshots["first"] = kiosk.heap_by_type()
            return build_sample(at, metrics, kiosk.page.evaluate(f"({LEAD})()"), system)
        snapshots: dict[str, HeapBreakdown] = {}
        samples, leads = keep_sampling(args, load, sample, STOP.wait)
        if args.snapshots and "first" in snapshots:
            report_by_type(snapshots["first"], kiosk.heap_by_type(), samples[-1]["t"])
        return samples, leads, kiosk.page.evaluate("window.__benchErrors || []")
    finally:
        kiosk.close()


def report_by_type(first: HeapBreakdown, last: HeapBreakdown, at: float) -> None:
    """Where the heap grew, by V8 node type, between the snapshot after the warm-up and the
    one at the end. "code" is V8's compiled functions (its JIT replacing them as it
    re-optimises); "native" is Blink's objects (the DOM), outside the JS heap; the rest is
    what the page's script holds."""
    print(f"  heap snapshots by node type, after the warm-up -> at {at / 60:.0f} min (MiB):")
    for name in sorted(set(first.sizes) | set(last.sizes), key=lambda n: -last.sizes.get(n, 0)):
        a, b = first.sizes.get(name, 0) / 2**20, last.sizes.get(name, 0) / 2**20
        if max(a, b) >= 0.01:
            print(f"    {name:<20} {a:7.2f} -> {b:7.2f}  ({b - a:+.2f})")
    for name, count in last.code_counts.items():  # the same functions with more machine code: the JIT
        print(f"    {name:<20} {first.code_counts[name]:7d} -> {count:7d}")

    def part(sizes: dict[str, int], which) -> int:
        return sum(size for name, size in sizes.items() if which(name))
    for label, which in (("the page's data (all but code and native)", lambda n: n not in ("code", "native")),
                         ("compiled code", lambda n: n == "code")):
        a, b = part(first.sizes, which), part(last.sizes, which)
        print(figure(f"{label}, growth", (b - a) / a * 100 if a else float("nan"), "%",
                     f"reported ({a / 2**20:.2f} -> {b / 2**20:.2f} MiB)"))


def soak_playwright(args, system: WallSystem, load: ReportLoad, browser, state: dict | None):
    """The wall in a Playwright page (its DevTools Network domain on: see bench/cdp.py)."""
    page = new_screen(browser, state)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    open_wall(page, system.url + "/wall")

    def sample(at: float) -> dict:
        cdp.send("HeapProfiler.collectGarbage")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return build_sample(at, metrics, page.evaluate(LEAD), system)
    samples, leads = keep_sampling(args, load, sample, lambda seconds: page.wait_for_timeout(seconds * 1000))
    return samples, leads, errors


def keep_sampling(args, load: ReportLoad, sample, wait) -> tuple[list[dict], set]:
    load.start()
    started = time.monotonic()
    samples, leads = [], set()
    while True:
        at = time.monotonic() - started
        taken = sample(at)
        samples.append(taken)
        leads.add(taken["lead"])
        rss = sum(taken["rss"].values()) / 1024
        print(f"  t={at:6.0f} s  heap {taken['heap'] / 2**20:7.2f} MiB  nodes {taken['nodes']:6.0f}"
              f"  listeners {taken['listeners']:5.0f}  live {taken['live']!s:5}  feed lead "
              f"{taken['lead']}  dashboard RSS {rss:7.1f} MiB  reports sent {load.ok}"
              f"  load average {os.getloadavg()[0]:.2f}", flush=True)
        if at >= args.warmup + args.minutes * 60 - 1 or STOP.is_set():
            return samples, leads
        wait(max(0.0, len(samples) * args.every - (time.monotonic() - started)))


def build_sample(at: float, metrics: dict, state: dict, system: WallSystem) -> dict:
    pids = system.dashboard_pids()
    return {"t": at, "heap": metrics["JSHeapUsedSize"], "nodes": metrics.get("Nodes", 0),
            "listeners": metrics.get("JSEventListeners", 0), "live": state["live"], "lead": state["lead"],
            "rss": {pid: read_rss_kib(pid) for pid in pids}}


def report(args, samples: list[dict], rate: float, failed: int, leads: int, errors: list[str]) -> None:
    kept = [s for s in samples if s["t"] >= args.warmup - 1]
    if len(kept) < 4:
        print(f"only {len(kept)} samples after the warm-up; run longer than {args.warmup + 3 * args.every} s")
        return
    ran = (samples[-1]["t"] - args.warmup) / 60  # measured: after the warm-up
    early = f" (stopped early; {args.minutes:g} asked)" if ran < args.minutes - 0.1 else ""
    print(f"{ran:.0f} minutes{early} at {rate:.1f} reports/s ({failed} failed); {len(kept)} samples after "
          f"a {args.warmup:.0f} s warm-up, every {args.every:.0f} s; {leads} distinct feed leads seen; "
          f"{sum(not s['live'] for s in samples)} samples not live; page errors: {len(errors)}")
    first, last, heap_growth = growth(kept, lambda s: s["heap"])
    print(figure("JS heap growth (after GC)", heap_growth * 100, "%",
                 f"<= 10% ({first / 2**20:.2f} -> {last / 2**20:.2f} MiB)"))
    print("  heap along the run (median of 3 samples around each point): " + ", ".join(
        f"{kept[i]['t'] / 60:.0f} min {median([s['heap'] for s in kept[max(0, i - 1):i + 2]]) / 2**20:.2f} MiB"
        for i in sorted({round(q * (len(kept) - 1)) for q in (0, 0.25, 0.5, 0.75, 1)})))
    first_n, last_n, nodes_growth = growth(kept, lambda s: s["nodes"])
    print(figure("DOM nodes growth", nodes_growth * 100, "%", f"reported ({first_n:.0f} -> {last_n:.0f})"))
    first_r, last_r, rss_growth = growth(kept, lambda s: sum(s["rss"].values()))
    print(figure("dashboard RSS growth (gunicorn workers)", rss_growth * 100, "%",
                 f"reported ({first_r / 1024:.1f} -> {last_r / 1024:.1f} MiB, both workers)"))
    pids = list(kept[-1]["rss"])
    for pid in pids:
        if all(pid in s["rss"] for s in kept):
            a, b, g = growth(kept, lambda s, pid=pid: s["rss"][pid])
            print(f"    worker {pid}: {a / 1024:.1f} -> {b / 1024:.1f} MiB ({g * 100:+.1f}%)")
    for error in errors[:5]:
        print("  page error:", error)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60, help="minutes measured, after the warm-up")
    parser.add_argument("--rate", type=float, default=10, help="reports per second through the API")
    parser.add_argument("--every", type=float, default=30, help="seconds between heap samples")
    parser.add_argument("--warmup", type=float, default=300,
                        help="seconds before the first sample counted: past the drop at ~3.5 min, "
                             "when V8 flushes the code only start-up ran")
    parser.add_argument("--driver", choices=("kiosk", "playwright"), default="kiosk",
                        help="kiosk: Chromium over the DevTools protocol without its Network domain "
                             "(as a wall runs); playwright: a Playwright page (Network domain on)")
    parser.add_argument("--no-snapshots", dest="snapshots", action="store_false",
                        help="kiosk: skip the heap snapshots after the warm-up and at the end "
                             "(their sizes by node type tell V8's compiled code from the page's data)")
    args = parser.parse_args()
    print("bench/wall_soak.py —", describe_machine(), flush=True)
    run(args)


if __name__ == "__main__":
    main()
