"""Benchmark: the push wall against the usual alternative, a page that polls the database.

Reported (issue 4): event-to-screen latency p50/p95 and database load (SQL statements and
database time per second, per open screen) of both, under the same 50 reports/s, with 1 and
with 10 open screens, and the ratios polling / push.
Run: .venv/bin/python -m bench.wall_polling [--probes 100] [--rate 50] [--screens 1 10]

One whole system (bench/wall_system.py: workers, embedded Redis, gunicorn) takes the
background load through its API. The two walls under test each run in a child process of
their own on the same database and Redis, served by Flask's threaded server (werkzeug), so a
SQLAlchemy event listener (before/after_cursor_execute) on their engine counts statements
and time; the child answers GET /bench/sql with the totals:
- push: our app, `dashboard.app.create_app()`, the city wall at /wall. Counted: statements
  issued while serving anything but /api (the wall's page, stream and callbacks). The probes'
  own reports go through this app's API and are not counted, nor its live publisher thread.
- poll: a minimal Dash page defined here, with dcc.Interval(1000) and one callback running the
  SQL a naive wall would run each second on its own engine (counts of today's, open and
  overdue reports of the city, the newest 8 reports, the nearest 10 deadlines) and drawing the
  feed with the wall's markup (`#wall-feed-list .feed-entry[data-incident]`). Its Flask server
  also carries our API (dashboard.app.make_server), so the probe posts to the same origin.
The probe (bench/wall_probe.py) runs on the first screen; the others are open walls in
browser contexts of their own (each with its own connections, as separate screens would be).
A probe not shown within 3 s is missed (a 1 s poll shows it within ~1.5 s, if at all).

At 50 reports/s over the city, a feed of 8 rows cannot show every report: a poll every second
shows the newest 8 of ~50, so most probes never appear on the polling city wall. The city
cases give the database load; the latency comparison that means something is also run on
the busiest town's wall (1 screen, probes in that town, the load still city-wide), where
both walls have room for every report.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.common import describe_machine, figure
from bench.intake import cpu_seconds, free_port, wait_ready
from bench.wall_probe import (
    CallbackLog,
    Prober,
    ReportLoad,
    install_observer,
    launch_browser,
    new_screen,
    open_wall,
)
from bench.wall_system import PYTHON, ROOT, WallSystem

SETTLE = 10  # seconds with the screens open and the load on, before the probes


# ---------------------------------------------------------------- the child processes

class SqlCounter:
    """Statements and database seconds on one engine, for the calls `wanted()` approves."""

    def __init__(self, engine, wanted):
        from sqlalchemy import event

        self.wanted, self.lock, self.statements, self.seconds = wanted, threading.Lock(), 0, 0.0
        self.kinds: Counter = Counter()  # the statements' first words, to say what they were
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.wanted():
            context._bench_started = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        started = getattr(context, "_bench_started", None)
        if started is not None:
            with self.lock:
                self.statements += 1
                self.seconds += time.perf_counter() - started
                self.kinds[" ".join(statement.split())[:90]] += 1

    def read(self):
        with self.lock:
            return {"statements": self.statements, "seconds": self.seconds,
                    "top": self.kinds.most_common(3)}


def serve_push(port: int) -> None:
    from flask import has_request_context, request

    from dashboard.app import config_from_env, create_app

    app = create_app(config=config_from_env())
    engine = app.server.extensions["grid"].sessions.kw["bind"]
    counter = SqlCounter(engine, lambda: has_request_context()
                         and not request.path.startswith(("/api", "/bench")))
    app.server.add_url_rule("/bench/sql", "bench_sql", counter.read)
    app.run(host="127.0.0.1", port=port, threaded=True, debug=False)


def build_poll_app(database_url: str):
    """The naive wall: every second, every screen asks the database."""
    import dash
    from dash import Input, Output, State, dcc, html
    from sqlalchemy import func, select
    from sqlalchemy.orm import aliased

    from dashboard.app import make_server
    from models import Area, Incident, Item
    from models.db import make_engine, make_session_factory
    from models.enums import CLOSED_STATES, AreaLevel
    from models.sla import CITY_ZONE
    from models.types import utcnow

    sessions = make_session_factory(make_engine(database_url))
    server = make_server(None, None, None)
    app = dash.Dash(__name__, server=server, update_title=None, url_base_pathname="/poll/")
    app.layout = html.Div([dcc.Location(id="where"), dcc.Interval(id="tick", interval=1000), html.Div(id="counts"),
                           html.Div(id="wall-feed-list"), html.Div(id="deadlines")], id="poll-root")
    with sessions() as session:
        city = session.scalar(select(Area.id).where(Area.level == AreaLevel.CITY).order_by(Area.id))
    is_open = Incident.state.not_in([str(s) for s in CLOSED_STATES])
    village = aliased(Area)

    @app.callback(Output("counts", "children"), Output("wall-feed-list", "children"),
                  Output("deadlines", "children"), Input("tick", "n_intervals"), State("where", "pathname"))
    def poll(_, where):
        now = utcnow()
        midnight = now.astimezone(CITY_ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
        town = (where or "").removeprefix("/poll/town/")
        in_city = Incident.town_id == int(town) if town.isdigit() else Incident.city_id == city
        with sessions() as session:
            today = session.scalar(select(func.count()).where(in_city, Incident.reported_at >= midnight))
            opened = session.scalar(select(func.count()).where(in_city, is_open))
            overdue = session.scalar(select(func.count()).where(in_city, is_open, Incident.due_at < now))
            newest = session.execute(
                select(Incident.id, Incident.reported_at, Item.name_zh, village.name_zh, Incident.description)
                .join(Item, Item.id == Incident.item_id).outerjoin(village, village.id == Incident.village_id)
                .where(in_city).order_by(Incident.reported_at.desc(), Incident.id.desc()).limit(8)).all()
            due = session.execute(
                select(Incident.id, Incident.due_at, Item.name_zh).join(Item, Item.id == Incident.item_id)
                .where(in_city, is_open, Incident.due_at >= now).order_by(Incident.due_at).limit(10)).all()
        feed = [html.Div([html.Span(f"{r[1].astimezone(CITY_ZONE):%H:%M}"), html.Span(r[2]),
                          html.Div(r[3] or "—"), html.Div((r[4] or "")[:24])], className="feed-entry",
                         **{"data-incident": str(r[0])}) for r in newest]
        board = [html.Div([html.Span(r[2]), html.Span(f"{r[1].astimezone(CITY_ZONE):%H:%M:%S}")],
                          className="board-row", **{"data-incident": str(r[0])}) for r in due]
        return f"today {today} · open {opened} · overdue {overdue}", feed, board

    return app, sessions.kw["bind"]


def serve_poll(port: int) -> None:
    from models.settings import database_url

    app, engine = build_poll_app(database_url())
    counter = SqlCounter(engine, lambda: True)  # this engine serves the poll callback only
    app.server.add_url_rule("/bench/sql", "bench_sql", counter.read)
    app.run(host="127.0.0.1", port=port, threaded=True, debug=False)


# ---------------------------------------------------------------- the measurement

def read_sql(url: str) -> dict:
    with urllib.request.urlopen(url + "/bench/sql", timeout=10) as response:
        return json.load(response)


def measure(browser, state, system: WallSystem, kind: str, case: tuple, args, grids, items, folder: Path) -> dict:
    scope, screens = case
    town = system.wall_codes()["town"]
    probe_grids = grids if scope == "city" else system.grids(town)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**system.env, "REDIS_URL": system.redis_url}
    with open(folder / f"{kind}-{scope}-{screens}.log", "w") as log:
        child = subprocess.Popen([PYTHON, "-m", "bench.wall_polling", "serve", kind, "--port", str(port)],
                                 cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    contexts = []
    try:
        wait_ready(port, child)
        path = {("push", "city"): "/wall", ("poll", "city"): "/poll/", ("push", "town"): f"/wall/town/{town}",
                ("poll", "town"): f"/poll/town/{system.town_id(town)}"}[(kind, scope)]
        pages = []
        for _ in range(screens):
            page = new_screen(browser, state)
            contexts.append(page.context)
            if kind == "push":
                open_wall(page, url + path)
            else:
                page.goto(url + path)
                page.wait_for_selector("#wall-feed-list .feed-entry", timeout=120000)
            pages.append(page)
        install_observer(pages[0])
        callbacks = CallbackLog(pages[0])
        load = ReportLoad(system.url, system.token, grids, items, args.rate).start()
        pages[0].wait_for_timeout(SETTLE * 1000)
        before, cpu_before, started = read_sql(url), cpu_seconds(child.pid), time.monotonic()
        callbacks.start()
        prober = Prober(pages[0], system.token, probe_grids, items, timeout_ms=3000)
        prober.run(args.probes, progress=False)
        callbacks.stop()
        after, cpu_after, elapsed = read_sql(url), cpu_seconds(child.pid), time.monotonic() - started
        rate = load.stop()
    finally:
        for context in contexts:
            try:
                context.close()
            except Exception as exc:  # noqa: BLE001 - let the error that got us here through
                print(f"    closing a screen: {exc}", flush=True)
        child.terminate()
        child.wait(timeout=30)
    statements = (after["statements"] - before["statements"]) / elapsed
    if after["top"]:
        print(f"    {kind}: most frequent statements since start: {after['top']}", flush=True)
    seconds = (after["seconds"] - before["seconds"]) / elapsed
    result = {"probes": prober.summary(), "callbacks": callbacks.summary(), "rate": rate,
              "sql_per_s": statements, "db_ms_per_s": seconds * 1000, "cpu_per_s": (cpu_after - cpu_before) / elapsed,
              "load_average": os.getloadavg()[0]}
    p, c = result["probes"], result["callbacks"]
    print(f"  {kind}, {scope} wall, {screens} screen(s): p50 {p['p50']:.0f} ms, p95 {p['p95']:.0f} ms, missed {p['missed']}/"
          f"{args.probes}; {statements:.1f} SQL/s ({statements / screens:.1f} per screen), DB {seconds * 1000:.1f} "
          f"ms/s; server CPU {result['cpu_per_s'] * 100:.0f}% of a core; callbacks on screen 1 "
          f"{c['per_second']:.2f}/s, server p50 {c['p50']:.1f} ms p95 {c['p95']:.1f} ms; load {rate:.1f}/s; "
          f"load average {result['load_average']:.2f}", flush=True)
    return result


def ratio(a: float, b: float) -> str:
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return "n/a (no probe shown)"
    return f"{a / b:.1f}x" if b > 0 else ("n/a" if a == 0 else "infinite (push: 0)")


def report(args, results: dict) -> None:
    print(f"{args.probes} probes per case (a probe not shown within 3 s is missed), "
          f"background {args.rate:g} reports/s:")
    for scope, screens in dict.fromkeys(case for _, case in results):
        push, poll = results.get(("push", (scope, screens))), results.get(("poll", (scope, screens)))
        if push is None or poll is None:
            print(f"  {scope}, {screens} screen(s): a case failed (above); no comparison")
            continue
        name = f"{scope}, {screens} screen(s)"
        for kind, r in (("push", push), ("poll", poll)):
            p = r["probes"]
            print(figure(f"{kind}, {name}: latency p50", p["p50"], "ms",
                         f"p95 {p['p95']:.0f} ms; missed {p['missed']}; all probes (missed = inf) "
                         f"p50 {p['all_p50']:.0f}, p95 {p['all_p95']:.0f}"))
            print(figure(f"{kind}, {name}: SQL/s per screen", r["sql_per_s"] / screens,
                         "stmt/s", f"DB time {r['db_ms_per_s'] / screens:.1f} ms/s per screen"))
        print(f"  ratios polling / push, {name}: latency p50 "
              f"{ratio(poll['probes']['p50'], push['probes']['p50'])}, p95 "
              f"{ratio(poll['probes']['p95'], push['probes']['p95'])}; SQL statements/s "
              f"{ratio(poll['sql_per_s'], push['sql_per_s'])}; DB time/s {ratio(poll['db_ms_per_s'], push['db_ms_per_s'])}")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="internal: run one wall under test")
    serve.add_argument("kind", choices=("push", "poll"))
    serve.add_argument("--port", type=int, required=True)
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--screens", type=int, nargs="+", default=[1, 10], help="city wall cases")
    parser.add_argument("--town", action=argparse.BooleanOptionalAction, default=True,
                        help="also the busiest town's wall, 1 screen, probes in that town")
    args = parser.parse_args()
    if args.command == "serve":
        (serve_push if args.kind == "push" else serve_poll)(args.port)
        return
    print("bench/wall_polling.py —", describe_machine(), flush=True)
    results = {}
    cases = [("city", screens) for screens in args.screens] + ([("town", 1)] if args.town else [])
    with tempfile.TemporaryDirectory(prefix="grid-wall-polling-") as folder, WallSystem(Path(folder)) as system:
        print(f"  system up on {system.url} (takes the background load)", flush=True)
        grids, items = system.grids(), system.items()
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            state = system.log_in(browser)  # cookies hold for every port of 127.0.0.1
            for case in cases:
                for kind in ("push", "poll"):
                    try:
                        results[(kind, case)] = measure(browser, state, system, kind, case, args, grids,
                                                        items, Path(folder))
                    except Exception as exc:  # noqa: BLE001 - one case failing says something too
                        print(f"  {kind}, {case[0]} wall, {case[1]} screen(s) FAILED: "
                              f"{str(exc).splitlines()[0]}", flush=True)
            browser.close()
    report(args, results)


if __name__ == "__main__":
    main()
