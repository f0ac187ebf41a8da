"""Names the wall shows, loaded once per process: areas, items and categories.

About 3,700 areas and 200 items: a few hundred kilobytes, read at the first wall request.
The area tree and the catalogue change only through a seed run or the admin screens, so a
process that must show a renamed area is restarted (or its cache cleared: `Names.clear`).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.area import Area
from models.catalogue import Category, Item
from models.enums import AreaLevel

CHILD_LEVEL = {AreaLevel.CITY: AreaLevel.TOWN, AreaLevel.TOWN: AreaLevel.VILLAGE,
               AreaLevel.VILLAGE: AreaLevel.GRID}
WALL_LEVELS = (AreaLevel.CITY, AreaLevel.TOWN, AreaLevel.VILLAGE)


@dataclass(frozen=True)
class Named:
    id: int
    code: str
    name_zh: str
    name_en: str | None
    level: str | None = None
    parent_id: int | None = None


class Names:
    def __init__(self, sessions: sessionmaker[Session]):
        self._sessions = sessions
        self._lock = threading.Lock()
        self._loaded = False

    def clear(self) -> None:
        with self._lock:
            self._loaded = False

    def _ensure(self) -> Names:
        if self._loaded:
            return self
        with self._lock:
            if not self._loaded:
                with self._sessions() as session:
                    self._load(session)
                self._loaded = True
        return self

    def _load(self, session: Session) -> None:
        areas = [Named(r.id, r.code, r.name_zh, r.name_en, str(r.level), r.parent_id)
                 for r in session.execute(select(Area.id, Area.code, Area.name_zh, Area.name_en,
                                                 Area.level, Area.parent_id))]
        self.areas = {a.id: a for a in areas}
        self.area_codes = {a.code: a for a in areas}
        self.items = {r.id: Named(r.id, r.code, r.name_zh, r.name_en) for r in session.execute(
            select(Item.id, Item.code, Item.name_zh, Item.name_en))}
        self.categories = {r.id: Named(r.id, str(r.code), r.name_zh, r.name_en) for r in session.execute(
            select(Category.id, Category.code, Category.name_zh, Category.name_en))}

    def area(self, area_id: int | None) -> Named | None:
        return self._ensure().areas.get(area_id)

    def area_by_code(self, code: str) -> Named | None:
        return self._ensure().area_codes.get(code)

    def wall_area(self, code: str | None, level: str) -> Named | None:
        """The area a wall URL names, if it is one with a wall at that level."""
        if level == AreaLevel.CITY:
            return next((a for a in self._ensure().areas.values() if a.level == AreaLevel.CITY), None)
        area = self.area_by_code(code or "")
        return area if area is not None and area.level == level else None

    def has_wall(self, area_id: int) -> bool:
        area = self.area(area_id)
        return area is not None and area.level in WALL_LEVELS

    def item(self, item_id: int | None) -> Named | None:
        return self._ensure().items.get(item_id)

    def category(self, category_id: int | None) -> Named | None:
        return self._ensure().categories.get(category_id)
