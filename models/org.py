"""Departments and staff."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum
from models.enums import AreaLevel, Role

department_item = Table(
    "department_item",
    Base.metadata,
    Column("department_id", ForeignKey("department.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), primary_key=True),
)


class Department(Base):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(160))
    level: Mapped[AreaLevel] = mapped_column(str_enum(AreaLevel))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    mediator: Mapped[bool] = mapped_column(Boolean, default=False)

    items = relationship("Item", secondary=department_item, lazy="selectin")


class Staff(Base):
    """A person: grid worker (area is their grid), centre staff (area is their jurisdiction)
    or a department handler (area is their department's area)."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(str_enum(Role), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
