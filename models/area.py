"""The area tree: city → town → village → grid."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum
from models.enums import AreaLevel


class Area(Base):
    __tablename__ = "area"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[AreaLevel] = mapped_column(str_enum(AreaLevel), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    code_official: Mapped[bool] = mapped_column(Boolean, default=False)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str | None] = mapped_column(String(128))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    # Denormalised ancestors, so jurisdiction checks and area filters need no recursion.
    city_id: Mapped[int | None] = mapped_column(Integer)
    town_id: Mapped[int | None] = mapped_column(Integer)
    village_id: Mapped[int | None] = mapped_column(Integer)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    geometry_simplified: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    centroid_lon: Mapped[float | None] = mapped_column(Float)
    centroid_lat: Mapped[float | None] = mapped_column(Float)

    parent: Mapped[Area | None] = relationship(remote_side=[id])

    def path_ids(self) -> tuple[int, ...]:
        """Ids of this area and all its ancestors."""
        ids = (self.city_id, self.town_id, self.village_id, self.id)
        return tuple(dict.fromkeys(i for i in ids if i is not None))
