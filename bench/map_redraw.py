"""Benchmark: what redrawing the city's map does to the browser's JS heap, by the way it is
redrawn. The evidence behind wall.js's `recolour` (docs/wall.md, "Memory over days").

An open wall's map gets new values about once a minute under load. Drawn anew each time with
`Plotly.react` (as the walls did until the ninth session), every redraw left V8 more machine
code, and the one-hour soak's heap grew past its 10 % target with it. `recolour` puts the new
values into the drawn trace and runs plotly.js's own choropleth style function instead.

Here a headless Chromium page holds the city's map alone (its real boundaries and the
figure `geo.build_map_figure` builds, plotly.js from dashboard/vendor/, assets/wall.js
loaded beside it) and gives it REDRAWS sets of new values back to back, one way per page:
- `react`: `Plotly.react` with a new trace, as wall.js did;
- `restyle`: `Plotly.restyle` of the values alone (the other way plotly.js offers);
- `recolour`: `window.gridWall.recolour`, as wall.js does now.
Every EVERY redraws the page is garbage-collected twice over the DevTools protocol and its
JSHeapUsedSize read. The figure is the heap's growth from the first reading (after EVERY
redraws, once plotly.js's first-use compilation is done) to the last. The wall redraws about
60 times an hour, so 1,000 redraws here are more than 16 hours of a wall's map.
Run: .venv/bin/python -m bench.map_redraw [--redraws 1000] [--every 100]
(the seeded city is the wall benchmarks' cache, bench/wall_system.py: built on first use).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.common import describe_machine, figure
from bench.wall_probe import VIEWPORT, launch_browser
from bench.wall_system import get_city_database
from dashboard.delivery import PLOTLY_GEO
from dashboard.wall import geo
from models.area import Area
from models.enums import AreaLevel

ROOT = Path(__file__).resolve().parent.parent
WALL_JS = ROOT / "dashboard" / "assets" / "wall.js"
WAYS = {
    "react": """i => { const gd = document.getElementById('map');
        return Plotly.react(gd, [Object.assign({}, gd.data[0], {z: values(gd, i)})], gd.layout); }""",
    "restyle": """i => { const gd = document.getElementById('map');
        return Plotly.restyle(gd, {z: [values(gd, i)]}, [0]); }""",
    "recolour": """i => { const gd = document.getElementById('map');
        if (!window.gridWall.recolour(gd, values(gd, i))) { throw new Error('recolour declined'); } }""",
}
# New values each time, within the legend's top (as a wall's values are until the top steps)
VALUES = """() => { window.values = (gd, i) => gd.data[0].z.map((v, k) => (k * 7 + i * 13) % (gd.data[0].zmax + 1)); }"""


def city_map_figure() -> dict:
    engine = create_engine(f"sqlite:///{get_city_database()}")
    with Session(engine) as session:
        city = session.scalar(select(Area).where(Area.level == AreaLevel.CITY))
        area_map = geo.load_children_map(session, city.id)
        style = geo.map_style({area_id: 10 * n for n, area_id in enumerate(area_map.ids)}, area_map.ids,
                              "count", "zh")
        figure = geo.build_map_figure(area_map, style, "zh")
    figure["data"][0]["geojson"] = json.loads(area_map.geometry)  # inline: no page to carry it
    return {**figure, "config": geo.MAP_CONFIG}


def measure(browser, figure: dict, way: str, redraws: int, every: int) -> list[tuple[int, float]]:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_content("<html><body><div id='map' style='width:1000px;height:760px'></div></body></html>")
    page.add_script_tag(path=str(PLOTLY_GEO))
    page.add_script_tag(path=str(WALL_JS))
    page.evaluate(VALUES)
    page.evaluate("f => Plotly.newPlot('map', f.data, f.layout, f.config).then(() => 1)", figure)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def heap_mib() -> float:
        cdp.send("HeapProfiler.collectGarbage")
        cdp.send("HeapProfiler.collectGarbage")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return metrics["JSHeapUsedSize"] / 2 ** 20

    readings = []
    for i in range(1, redraws + 1):
        page.evaluate(f"i => Promise.resolve(({WAYS[way]})(i)).then(() => 1)", i)
        if i % every == 0:
            readings.append((i, heap_mib()))
    drawn = page.evaluate("Array.from(document.querySelectorAll('#map .choroplethlocation'), p => p.getAttribute('fill'))")
    if len(set(drawn)) < 2:
        raise SystemExit(f"{way}: the map was not coloured by its values ({drawn[:3]}...)")
    page.context.close()
    return readings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redraws", type=int, default=1000)
    parser.add_argument("--every", type=int, default=100)
    args = parser.parse_args()
    if args.redraws < 2 * args.every:
        parser.error("--redraws must be at least twice --every (a first and a last reading)")
    print(f"bench/map_redraw.py — {describe_machine()}", flush=True)
    figure_ = city_map_figure()
    print(f"  the city's map: {len(figure_['data'][0]['locations'])} towns; {args.redraws} redraws each way",
          flush=True)
    growth = {}
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            for way in WAYS:
                readings = measure(browser, figure_, way, args.redraws, args.every)
                print(f"  {way:<9} heap after " + ", ".join(f"{i}: {mib:.2f}" for i, mib in readings) + " MiB",
                      flush=True)
                (_, first), (_, last) = readings[0], readings[-1]
                growth[way] = last - first
                print(figure(f"{way}: heap growth, {readings[0][0]}th -> {readings[-1][0]}th redraw",
                             growth[way], "MiB", "reported: the soak's ≤ 10 %/h is what it is for"), flush=True)
        finally:
            browser.close()
    print(f"  react's growth / recolour's: {growth['react'] / max(growth['recolour'], 0.01):.0f}x "
          "(recolour's floored at 0.01 MiB)")


if __name__ == "__main__":
    main()
