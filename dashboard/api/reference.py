"""Reference data the API reads on every request, kept per process: items, categories,
area codes and the grid locator.

The catalogue and the area tree are seed data that change rarely. A code or id this
cache has not seen is looked up in SQL and remembered, so new rows (an importer's new
district, an admin's new item) are found without a restart. One instance lives on each
app, so nothing here is shared between processes.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, defer, sessionmaker

from dashboard.api.cache import TtlCache
from models import Area, Category, Item
from models.enums import AreaLevel, Priority
from seed.importer import GridLocator


@dataclass(frozen=True)
class ItemRef:
    id: int
    code: str
    category_id: int
    name_zh: str
    name_en: str
    default_priority: Priority


@dataclass(frozen=True)
class CategoryRef:
    id: int
    code: int
    key: str
    name_zh: str


@dataclass(frozen=True)
class AreaRef:
    id: int
    code: str
    level: AreaLevel
    name_zh: str


class Reference:
    def __init__(self, sessions: sessionmaker[Session], row_seconds: float = 60):
        self._sessions = sessions
        self._rows: TtlCache = TtlCache(row_seconds)
        self._lock = threading.Lock()
        self._locator: GridLocator | None = None
        self.items: dict[str, ItemRef] = {}
        self.item_codes: dict[int, str] = {}
        self.categories: dict[int, CategoryRef] = {}
        self.areas: dict[int, AreaRef] = {}
        self.area_ids: dict[str, int] = {}
        self._loaded = False

    def load(self) -> Reference:
        with self._lock, self._sessions() as session:
            if not self._loaded:
                self._load(session)
                self._loaded = True
        return self

    def _load(self, session: Session) -> None:
        for row in session.scalars(select(Category)):
            self.categories[row.id] = CategoryRef(row.id, row.code, row.key, row.name_zh)
        for row in session.scalars(select(Item)):
            self._remember_item(row)
        for row in session.execute(select(Area.id, Area.code, Area.level, Area.name_zh)):
            self._remember_area(row)

    def _remember_item(self, row) -> ItemRef:
        ref = ItemRef(row.id, row.code, row.category_id, row.name_zh, row.name_en, row.default_priority)
        self.items[ref.code], self.item_codes[ref.id] = ref, ref.code
        return ref

    def _remember_area(self, row) -> AreaRef:
        ref = AreaRef(row.id, row.code, row.level, row.name_zh)
        self.areas[ref.id], self.area_ids[ref.code] = ref, ref.id
        return ref

    # ------------------------------------------------------------ lookups

    def get_item(self, session: Session, code: str) -> ItemRef | None:
        if code not in self.items:
            row = session.scalar(select(Item).where(Item.code == code))
            return row and self._remember_item(row)
        return self.items[code]

    def get_item_code(self, session: Session, item_id: int) -> str:
        if item_id not in self.item_codes:
            self._remember_item(session.get(Item, item_id))
        return self.item_codes[item_id]

    def get_area(self, session: Session, code: str) -> AreaRef | None:
        if code not in self.area_ids:
            row = session.execute(select(Area.id, Area.code, Area.level, Area.name_zh)
                                  .where(Area.code == code)).first()
            return row and self._remember_area(row)
        return self.areas[self.area_ids[code]]

    def get_area_code(self, session: Session, area_id: int | None) -> str | None:
        if area_id is None:
            return None
        if area_id not in self.areas:
            row = session.execute(select(Area.id, Area.code, Area.level, Area.name_zh)
                                  .where(Area.id == area_id)).first()
            return row and self._remember_area(row).code
        return self.areas[area_id].code

    def get_category(self, key_or_code: str) -> CategoryRef | None:
        return next((c for c in self.categories.values()
                     if key_or_code in (c.key, str(c.code))), None)

    def attach(self, session: Session, model: type[Area] | type[Item], ident: int) -> None:
        """Put a cached copy of an Area or Item row into `session`, so the lifecycle's
        session.get finds it without a query (an Area row carries its geometry, which is
        slow to read). The copies are re-read from SQL, all at once, after `row_seconds`."""
        rows = self._rows.get(model, lambda: self._load_rows(model))
        if ident not in rows:
            rows.update(self._load_rows(model, ident))
        if ident in rows:
            # The identity map holds clean objects weakly: keep this one for the session.
            session.info.setdefault("attached", set()).add(session.merge(rows[ident], load=False))

    def _load_rows(self, model, ident: int | None = None) -> dict:
        query = select(model)
        if model is Area:
            query = query.options(defer(Area.geometry), defer(Area.geometry_simplified))
        if ident is not None:
            query = query.where(model.id == ident)
        with self._sessions() as session:
            rows = list(session.scalars(query))
            session.expunge_all()
        return {row.id: row for row in rows}

    def locate(self, lon: float, lat: float) -> int | None:
        """The grid holding a point; the locator is built on first use (about a second)."""
        if self._locator is None:
            with self._lock, self._sessions() as session:
                if self._locator is None:
                    self._locator = GridLocator(session)
        return self._locator.locate(lon, lat)
