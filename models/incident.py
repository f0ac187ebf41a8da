"""Incidents, their append-only audit events and their breach records."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BigId, str_enum
from models.enums import (
    AreaLevel,
    Channel,
    CLOSED_STATES,
    DisputeOutcome,
    Priority,
    Role,
    Satisfaction,
    Stage,
    State,
)
from models.types import UTCDateTime


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="source_ref"),
        Index("ix_incident_due", "due_breached", "due_at"),
        Index("ix_incident_warn", "warn_at"),
        Index("ix_incident_town_state", "town_id", "state"),
        Index("ix_incident_village_state", "village_id", "state"),
        Index("ix_incident_reported", "reported_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Where it came from; (source, external_id) makes imports idempotent.
    source: Mapped[str] = mapped_column(String(32), default="local")
    external_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reporter_name: Mapped[str | None] = mapped_column(String(64))

    # What it is.
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority))
    description: Mapped[str] = mapped_column(Text, default="")

    # Where it is: the most specific area, and its ancestors for cheap filters.
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    city_id: Mapped[int] = mapped_column(Integer)
    town_id: Mapped[int | None] = mapped_column(Integer)
    village_id: Mapped[int | None] = mapped_column(Integer)
    grid_id: Mapped[int | None] = mapped_column(Integer, index=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)

    # Who has it.
    state: Mapped[State] = mapped_column(str_enum(State), index=True)
    level: Mapped[AreaLevel] = mapped_column(str_enum(AreaLevel))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))

    # When things happened.
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Deadlines: one per stage, plus the one now running (what timers sweep).
    accept_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatch_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handle_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_stage: Mapped[Stage | None] = mapped_column(str_enum(Stage))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_breached: Mapped[bool] = mapped_column(default=False)
    # When the latest breach no shift lead has acknowledged yet was detected; the wall
    # flashes the incident while it is set (lifecycle.breach sets it, ack_alarm clears it).
    alarm_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Counters leaders read.
    breach_count: Mapped[int] = mapped_column(Integer, default=0)
    escalation_count: Mapped[int] = mapped_column(Integer, default=0)
    reassign_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    postpone_count: Mapped[int] = mapped_column(Integer, default=0)
    dispute_outcome: Mapped[DisputeOutcome | None] = mapped_column(str_enum(DisputeOutcome))
    satisfaction: Mapped[Satisfaction | None] = mapped_column(str_enum(Satisfaction))

    events: Mapped[list[IncidentEvent]] = relationship(
        back_populates="incident", order_by="IncidentEvent.id", lazy="raise_on_sql"
    )
    breaches: Mapped[list[Breach]] = relationship(back_populates="incident", order_by="Breach.id")

    # The application sets the next version; SQLAlchemy guards the UPDATE with the old one.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @property
    def is_open(self) -> bool:
        return self.state not in CLOSED_STATES

    def area_path(self) -> tuple[int, ...]:
        ids = (self.city_id, self.town_id, self.village_id, self.grid_id, self.area_id)
        return tuple(dict.fromkeys(i for i in ids if i is not None))


class IncidentEvent(Base):
    """One audited change. Its id is the change feed's sequence number. Never updated."""

    __tablename__ = "incident_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor_role: Mapped[Role] = mapped_column(str_enum(Role))
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[State | None] = mapped_column(str_enum(State))
    to_state: Mapped[State] = mapped_column(str_enum(State))
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    incident: Mapped[Incident] = relationship(back_populates="events")


class Breach(Base):
    """A stage deadline that passed. The unique key makes recording it idempotent."""

    __tablename__ = "breach"
    __table_args__ = (UniqueConstraint("incident_id", "stage", "deadline", name="once"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    stage: Mapped[Stage] = mapped_column(str_enum(Stage))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the late stage is finally completed: how far over it ran.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_seconds: Mapped[int | None] = mapped_column(Integer)
    # Set when a shift lead acknowledges the alarm (lifecycle.ack_alarm): when, and who.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))

    incident: Mapped[Incident] = relationship(back_populates="breaches")


@event.listens_for(IncidentEvent, "before_update")
@event.listens_for(IncidentEvent, "before_delete")
def _refuse_rewriting_history(_mapper, _connection, target) -> None:
    raise RuntimeError(f"incident events are append-only (event {target.id})")
