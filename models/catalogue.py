"""Categories, items and their time-limit rules."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum
from models.enums import Clock, Priority, Stage


class Category(Base):
    __tablename__ = "category"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[int] = mapped_column(Integer, unique=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    is_dispute: Mapped[bool] = mapped_column(Boolean, default=False)

    items: Mapped[list[Item]] = relationship(back_populates="category", order_by="Item.code")


class Item(Base):
    __tablename__ = "item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    default_priority: Mapped[Priority] = mapped_column(str_enum(Priority))

    category: Mapped[Category] = relationship(back_populates="items")


class SlaRule(Base):
    """One time limit. Unset item, category or priority means "any"."""

    __tablename__ = "sla_rule"
    __table_args__ = (
        UniqueConstraint("stage", "priority", "category_id", "item_id", name="scope"),
        CheckConstraint("category_id IS NULL OR item_id IS NULL", name="one_scope"),
        CheckConstraint("minutes > 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[Stage] = mapped_column(str_enum(Stage))
    priority: Mapped[Priority | None] = mapped_column(str_enum(Priority))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("item.id"))
    minutes: Mapped[int] = mapped_column(Integer)
    clock: Mapped[Clock] = mapped_column(str_enum(Clock))
