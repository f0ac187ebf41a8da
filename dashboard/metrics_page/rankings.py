"""Rankings for one area's page: its children (towns on the city page, villages on a town
page) and the departments inside it, ranked among themselves.

models.metrics.list_rankings ranks a whole level across the city and applies the minimum of
30 cases; here the entries are narrowed to the page's area and ranked again among those
left (ties still share a rank: 1, 1, 3). Children with no rows in the range are listed too,
with 0 cases, so every child can be opened; departments are listed only when they have rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models.area import Area
from models.enums import AreaLevel
from models.metrics import MIN_CASES, TOO_FEW, list_rankings
from models.org import Department

CHILD_LEVEL = {AreaLevel.CITY: AreaLevel.TOWN, AreaLevel.TOWN: AreaLevel.VILLAGE}
DEPARTMENT_LEVELS = {AreaLevel.CITY: (AreaLevel.CITY, AreaLevel.TOWN, AreaLevel.VILLAGE),
                     AreaLevel.TOWN: (AreaLevel.TOWN, AreaLevel.VILLAGE),
                     AreaLevel.VILLAGE: (AreaLevel.VILLAGE,)}
_PATH_COLUMN = {AreaLevel.CITY: Area.city_id, AreaLevel.TOWN: Area.town_id,
                AreaLevel.VILLAGE: Area.village_id}


@dataclass
class Ranking:
    """Entries ({rank, id, code, name_zh, name_en, cases, value, status}) of one level."""

    by: str                     # "area" or "department"
    level: AreaLevel | None     # None: an area with no level beneath that has figures
    indicator: str
    ranked: list[dict] = field(default_factory=list)
    too_few: list[dict] = field(default_factory=list)
    min_cases: int = MIN_CASES


def rerank(entries: list[dict]) -> list[dict]:
    """Ranks again within a subset already in ranking order; equal values share a rank."""
    result = []
    for position, entry in enumerate(entries):
        same = position and entries[position - 1]["value"] == entry["value"]
        result.append({**entry, "rank": result[-1]["rank"] if same else position + 1})
    return result


def _split(by: str, level, indicator: str, entries: list[dict], names: dict) -> Ranking:
    ranking = Ranking(by, level, indicator)
    for entry in entries:
        code, name_zh, name_en = names[entry["id"]]
        entry = {**entry, "code": code, "name_zh": name_zh, "name_en": name_en or name_zh}
        (ranking.ranked if entry["status"] == "ranked" else ranking.too_few).append(entry)
    ranking.ranked = rerank(ranking.ranked)
    ranking.too_few.sort(key=lambda e: (e["name_zh"], e["id"]))
    return ranking


def list_child_rankings(session: Session, area: Area, start: date, end: date,
                        indicator: str) -> Ranking:
    """The area's children ranked on `indicator`; a village has none with figures (grids)."""
    level = CHILD_LEVEL.get(area.level)
    if level is None:
        return Ranking("area", None, indicator)
    names = {row.id: (row.code, row.name_zh, row.name_en) for row in session.execute(
        select(Area.id, Area.code, Area.name_zh, Area.name_en).where(Area.parent_id == area.id))}
    entries = [e for e in list_rankings(session, start, end, level=level, by="area",
                                        indicator=indicator) if e["id"] in names]
    seen = {e["id"] for e in entries}
    entries += [{"rank": None, "id": ident, "name": names[ident][1], "cases": 0, "value": None,
                 "status": TOO_FEW} for ident in names if ident not in seen]
    return _split("area", level, indicator, entries, names)


def list_department_rankings(session: Session, area: Area, start: date, end: date,
                             indicator: str, level: AreaLevel) -> Ranking:
    """Departments of `level` based in the area or beneath it, ranked on `indicator`."""
    if level not in DEPARTMENT_LEVELS[area.level]:
        raise ValueError(f"no {level} departments under a {area.level}")
    inside = or_(Area.id == area.id, _PATH_COLUMN[area.level] == area.id)
    names = {row.id: (row.code, row.name_zh, row.name_en) for row in session.execute(
        select(Department.id, Department.code, Department.name_zh, Department.name_en)
        .join(Area, Area.id == Department.area_id).where(Department.level == level, inside))}
    entries = [e for e in list_rankings(session, start, end, level=level, by="department",
                                        indicator=indicator) if e["id"] in names]
    return _split("department", level, indicator, entries, names)
