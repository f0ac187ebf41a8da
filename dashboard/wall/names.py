"""Names the wall shows, loaded once per process: areas, items and categories.

About 3,700 areas and 200 items: a few hundred kilobytes, read at the first wall request.
The catalogue changes through the admin screens, which write an `admin_change` row with
every change: at most every CHECK_SECONDS a process reads the newest id (one primary-key
look-up) and reloads when it moved, so a renamed or new item reaches every process's walls
within that. The area tree changes only through a seed run (restart, or `Names.clear`).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.area import Area
from models.catalogue import Category, Item
from models.enums import AreaLevel
from models.sla import read_rules_version

CHILD_LEVEL = {AreaLevel.CITY: AreaLevel.TOWN, AreaLevel.TOWN: AreaLevel.VILLAGE,
               AreaLevel.VILLAGE: AreaLevel.GRID}
WALL_LEVELS = (AreaLevel.CITY, AreaLevel.TOWN, AreaLevel.VILLAGE)
CHECK_SECONDS = 30.0


@dataclass(frozen=True)
class Named:
    id: int
    code: str
    name_zh: str
    name_en: str | None
    level: str | None = None
    parent_id: int | None = None


class Names:
    def __init__(self, sessions: sessionmaker[Session], check_seconds: float = CHECK_SECONDS):
        self._sessions = sessions
        self._lock = threading.Lock()
        self._loaded = False
        self._version = 0
        self._check_seconds, self._checked_at = check_seconds, 0.0

    def warm(self) -> None:
        """Load now rather than on the first request that needs a name (~100 ms on a busy
        host, which would land on a wall's first callback in each process)."""
        self._ensure()

    def clear(self) -> None:
        with self._lock:
            self._loaded = False

    def _ensure(self) -> Names:
        if self._loaded and time.monotonic() - self._checked_at < self._check_seconds:
            return self
        with self._lock:
            if self._loaded and time.monotonic() - self._checked_at < self._check_seconds:
                return self
            with self._sessions() as session:
                version = read_rules_version(session)
                if not self._loaded or version != self._version:
                    self._load(session)
                self._version, self._loaded = version, True
            self._checked_at = time.monotonic()
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
