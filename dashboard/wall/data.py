"""What a wall shows, as plain data: headline numbers, deadline board and live feed.

Sources, chosen so that a refresh costs a few Redis round trips and no SQL:
- live counts (reported today, open, overdue) and the deadline board: the live state the
  relay keeps in Redis (`workers.live`), current to the last relayed event;
- today's rates and everything "same time last week": the wall figures the RQ job writes
  every minute (`workers.wall`), so rates lag by at most a minute;
- the feed: the area's list of newest reports, which the relay pushes in the same Lua
  script that counts them (workers.live). Every state shows the newest FEED_ROWS whole, so
  a state the browser never drew (an older one arriving late is ignored) loses nothing: the
  next one carries the same list. A page load reads SQL only when Redis is unreachable.

Counts, feed and figures are read in one MULTI: atomic without WATCH, so a busy city (the
cursor moves 50 times a second) never retries.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.wall.i18n import name_of
from dashboard.wall.names import Names
from models.enums import AreaLevel
from models.incident import Incident
from workers import keys
from workers.live import build_band, decode_feed_entry, decode_live_incident, local_day

BOARD_ROWS = 10
BOARD_OVERDUE_SCAN = 30  # the most recently overdue incidents read (new breaches are among them)
FEED_ROWS = 8
FEED_WORDS = 24  # characters of the description the feed shows

AREA_COLUMN = {AreaLevel.CITY: Incident.city_id, AreaLevel.TOWN: Incident.town_id,
               AreaLevel.VILLAGE: Incident.village_id}


@dataclass
class Headline:
    key: str
    value: float | int | None
    last_week: float | int | None
    is_rate: bool = False
    higher_is_better: bool = False


def build_headlines(snapshot: dict, figures: dict | None) -> list[Headline]:
    today = (figures or {}).get("today", {})
    before = (figures or {}).get("last_week", {})
    return [
        Headline("reported", snapshot["today"].get("report", 0), before.get("reported")),
        Headline("open", snapshot["counts"]["open"], before.get("open")),
        Headline("overdue", snapshot["counts"]["overdue"], before.get("overdue")),
        Headline("on_time_rate", today.get("on_time_closure_rate"), before.get("on_time_closure_rate"),
                 is_rate=True, higher_is_better=True),
        Headline("dispute_rate", today.get("dispute_resolution_rate"), before.get("dispute_resolution_rate"),
                 is_rate=True, higher_is_better=True),
    ]


def _local_area(names: Names, incident: dict, lang: str) -> str:
    """The village (or grid) an incident lies in, as an operator names it."""
    village = names.area(incident.get("village_id"))
    town = names.area(incident.get("town_id"))
    parts = [name_of(a, lang) for a in (town, village) if a is not None]
    return " · ".join(parts) or "—"


def build_board_row(names: Names, incident: dict, lang: str, now: datetime) -> dict:
    item = names.item(incident["item_id"])
    return {
        "id": incident["id"], "version": incident["version"],
        "item": name_of(item, lang) if item else "—",
        "area": _local_area(names, incident, lang),
        "stage": incident.get("due_stage"),
        "due": incident["due_at"].isoformat() if incident.get("due_at") else None,
        "warn": incident["warn_at"].isoformat() if incident.get("warn_at") else None,
        "band": incident.get("band") or build_band(incident, now),
        "alarm": incident.get("alarm_at") is not None,
    }


def pick_board(overdue: list[dict], upcoming: list[dict], rows: int = BOARD_ROWS) -> list[dict]:
    """What needs a shift lead first: unacknowledged breaches (newest first), then the
    deadlines coming next (still savable), then what is already late (latest first)."""
    alarms = sorted((i for i in overdue + upcoming if i.get("alarm_at")),
                    key=lambda i: i["alarm_at"], reverse=True)
    upcoming = [i for i in upcoming if not i.get("alarm_at")]
    late = [i for i in overdue if not i.get("alarm_at")]
    return (alarms + upcoming + late)[:rows]


def read_board(redis, area_id: int, now: datetime, rows: int = BOARD_ROWS) -> tuple[list, list]:
    """The most recently overdue and the next due open incidents of an area: a new breach's
    deadline is the latest of the overdue ones, so it is always among those read."""
    due_key, moment = keys.LIVE_AREA_DUE.format(area_id=area_id), now.timestamp()
    with redis.pipeline(transaction=False) as pipe:
        pipe.zrevrangebyscore(due_key, moment, "-inf", start=0, num=BOARD_OVERDUE_SCAN)
        pipe.zrangebyscore(due_key, f"({moment}", "+inf", start=0, num=rows)
        overdue_ids, upcoming_ids = pipe.execute()
        for incident_id in [*overdue_ids, *upcoming_ids]:
            pipe.hgetall(keys.LIVE_INCIDENT.format(incident_id=incident_id))
        hashes = pipe.execute()
    incidents = [decode_live_incident(h) if h else None for h in hashes]
    split = len(overdue_ids)
    return ([i for i in incidents[:split] if i], [i for i in incidents[split:] if i])


def read_live(redis, names: Names, area_id: int, lang: str, now: datetime) -> dict:
    """Headline numbers, board rows and the feed of one area, from Redis only."""
    moment = now.timestamp()
    with redis.pipeline(transaction=True) as pipe:
        pipe.get(keys.LIVE_CURSOR)
        pipe.scard(keys.LIVE_AREA_OPEN.format(area_id=area_id))
        pipe.zcount(keys.LIVE_AREA_DUE.format(area_id=area_id), "-inf", moment)
        pipe.hgetall(keys.LIVE_AREA_DAY.format(area_id=area_id, day=local_day(now).isoformat()))
        pipe.lrange(keys.LIVE_AREA_FEED.format(area_id=area_id), 0, FEED_ROWS - 1)
        pipe.get(keys.WALL_FIGURES.format(area_id=area_id))
        seq, open_count, overdue, today, feed, figures = pipe.execute()
    snapshot = {"today": {k: int(v) for k, v in today.items() if k != "_seq"},
                "counts": {"open": open_count, "overdue": overdue}}
    board = [build_board_row(names, i, lang, now) for i in pick_board(*read_board(redis, area_id, now))]
    return {"seq": int(seq) if seq is not None else None, "at": now.isoformat(),
            "headlines": build_headlines(snapshot, json.loads(figures) if figures else None),
            "board": board,
            "feed": [build_feed_entry(names, decode_feed_entry(entry), lang) for entry in feed]}


def build_feed_entry(names: Names, incident, lang: str) -> dict:
    """`incident` is a live hash (dict) or an Incident row: the same names either way."""
    get = incident.get if isinstance(incident, dict) else (lambda name: getattr(incident, name))
    item = names.item(get("item_id"))
    reported = get("reported_at")
    return {"id": get("id"), "at": reported.isoformat() if reported else None,
            "item": name_of(item, lang) if item else "—",
            "area": _local_area(names, {"village_id": get("village_id"), "town_id": get("town_id")},
                                lang),
            "text": (get("description") or "")[:FEED_WORDS]}


def list_feed(session: Session, names: Names, level: str, area_id: int, lang: str,
              rows: int = FEED_ROWS) -> list[dict]:
    """The newest reports in an area, from SQL: a page load while Redis is unreachable."""
    query = select(Incident).order_by(Incident.reported_at.desc(), Incident.id.desc()).limit(rows)
    if level != AreaLevel.CITY:
        query = query.where(AREA_COLUMN[level] == area_id)
    return [build_feed_entry(names, row, lang) for row in session.scalars(query)]
