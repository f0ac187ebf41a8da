"""The wall's slow panels (map colours, category breakdown, 24-hour trend) as display-ready data.

Like the live panels (`dashboard.wall.view`), these are pushed on the stream and drawn by
assets/wall.js, not refreshed by a Dash callback: a *panels state* is built once per area
and language every few seconds in each dashboard process (`view.LiveStates`, shared by
every screen on the wall) and a stream sends it on only when it changed (its `sign`).

A panels state holds:
- `map`: for each mode ("count", "anomaly"), the choropleth trace's values and colour
  settings (`geo.map_style`), in the order of the map's children; the browser keeps
  the geometry it loaded with the page and applies the mode its switch shows;
- `trend`: the last 24 hours, a column per hour with last week's marker, as percentages of
  the axis, and the axis's labels;
- `categories`: the breakdown's rows, each with its bar and last week's marker as a
  percentage of the panel, and its numbers formatted;
- `at`: when the figures job computed the trend and categories (None before its first run).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy.orm import Session

from dashboard.wall.geo import MODES, load_map_ids, map_style, nice_ceiling, read_map_modes
from dashboard.wall.i18n import name_of, t
from dashboard.wall.names import Names
from models.sla import CITY_ZONE
from workers.wall import read_wall_figures

TREND_FLOOR = 10  # the trend's axis reaches at least this many reports an hour
LABEL_EVERY = 3  # the trend labels every third hour (24 labels would not fit a column each)
CATEGORY_ROWS = 8


def local_time(iso: str | None, fmt: str = "%H:%M:%S") -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone(CITY_ZONE).strftime(fmt)


def categories_view(names: Names, figures: dict | None, lang: str, rows: int = CATEGORY_ROWS) -> list[dict]:
    """Today's reports by category, largest first, with last week's count as a marker on the
    same scale (percentages of the track). Empty before the figures job's first run."""
    entries = ((figures or {}).get("categories") or [])[:rows]
    if not entries:
        return []
    top = max(max(e["today"], e["last_week"]) for e in entries) or 1
    last_week = t("trend.last_week", lang)
    return [{"id": e["category_id"],
             "name": name_of(c, lang) if (c := names.category(e["category_id"])) else "?",
             "count": f"{e['today']:,}", "bar": round(100 * e["today"] / top, 1),
             "last": round(100 * e["last_week"] / top, 1), "title": f"{last_week}: {e['last_week']:,}"}
            for e in entries]


def trend_view(figures: dict | None, lang: str) -> dict:
    """Reports per hour over the last 24 hours, against the same hours a week before: a
    column per hour, oldest first, with last week's count as a marker on the same scale
    (percentages of the axis), drawn by assets/wall.js like the category breakdown.

    The axis tops out at a round number rather than the day's peak, so the columns and the
    scale stay put while the current hour creeps up (the same reason as the map's legend,
    geo.nice_ceiling). An hour is labelled every LABEL_EVERY hours, in Asia/Shanghai. No
    columns before the figures job's first run: the panel then says it has no figures yet.

    Why not a plotly figure: each Plotly.react of one, once a minute, left V8 more machine
    code, and an open wall's heap grew with it (docs/wall.md, "Memory over days"); these
    columns are a few dozen elements whose styles change in place."""
    trend = (figures or {}).get("trend") or {}
    hours, this_week, last_week = trend.get("hours") or [], trend.get("this_week"), trend.get("last_week")
    if not hours:
        return {"top": "", "mid": "", "columns": []}
    top = nice_ceiling(max([TREND_FLOOR, *this_week, *last_week]) * 1.05)
    this_name, last_name = t("trend.this_week", lang), t("trend.last_week", lang)
    columns = []
    for slot, (hour, now, then) in enumerate(zip(hours, this_week, last_week)):
        local = datetime.fromisoformat(hour).astimezone(CITY_ZONE)
        label = local.strftime("%H时" if lang == "zh" else "%H:00")
        columns.append({"id": slot, "hour": label if local.hour % LABEL_EVERY == 0 else "",
                        "bar": round(100 * now / top, 1), "last": round(100 * then / top, 1),
                        "title": f"{label} {this_name}: {now:,} · {last_name}: {then:,}"})
    return {"top": axis_label(top), "mid": axis_label(top / 2), "columns": columns}


def axis_label(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def read_panels(redis, session: Session, names: Names, area_id: int, lang: str,
                now: datetime | None = None) -> dict:
    """One wall's panels state, from Redis (and, once per process and area, the map's order
    from SQL)."""
    level = str(names.area(area_id).level)
    values = read_map_modes(redis, area_id, level, MODES, now)
    ids = load_map_ids(session, area_id)
    figures = read_wall_figures(redis, area_id)
    panels = {"at": (figures or {}).get("at"),
              "map": {mode: map_style(values[mode], ids, mode, lang) for mode in MODES},
              "trend": trend_view(figures, lang),
              "categories": categories_view(names, figures, lang)}
    return {**panels, "seq": 0, "sign": sign_of(panels)}


def sign_of(panels: dict) -> str:
    """A short digest of what a panels state shows: a stream sends a state on only when its
    sign differs from the last one it sent."""
    text = json.dumps(panels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
