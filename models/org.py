"""Departments and staff."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum
from models.enums import AreaLevel, Role
from models.types import UTCDateTime

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
    # argon2id (dashboard/auth/passwords.py); None: this person cannot log in.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ShiftHandover(Base):
    """One shift handed over at a centre: the outgoing lead's summary and notes, and the
    incoming lead's acknowledgement. Both steps are recorded; the summary is frozen as written."""

    __tablename__ = "shift_handover"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    outgoing_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    shift_start: Mapped[datetime] = mapped_column(UTCDateTime)
    shift_end: Mapped[datetime] = mapped_column(UTCDateTime)
    # {"new", "closed", "open", "overdue", "escalated", ...} counted over the shift
    summary: Mapped[dict] = mapped_column(JSON)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    incoming_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffLogin(Base):
    """One login session, so that logging out really ends it (dashboard/auth/logins.py).

    SQL holds the truth; Redis keeps a short-lived copy with the person's snapshot so a
    request does not need SQL. `id` is the random login id carried in the cookies."""

    __tablename__ = "staff_login"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    # digest of the password hash at login: a new password ends older logins
    fingerprint: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AdminChange(Base):
    """One change made by an administrator (users, items, time-limit rules): who, when,
    what, and the record before and after. Append-only, written in the same transaction."""

    __tablename__ = "admin_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))      # "staff", "item", "sla_rule"
    entity_id: Mapped[int | None] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(32))      # "create", "update", "delete", "set_password"…
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
