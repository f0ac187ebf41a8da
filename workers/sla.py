"""Stage time limits kept by the clock: amber at 75 %, breach at 100 %, each exactly once.

Breach. A sweep lists the incidents whose running deadline has passed and is not yet
marked breached (`due_at <= now AND NOT due_breached`, read through the due_at index in
deadline order, so it costs what is due, not what is open) and claims each one with
`lifecycle.breach` in its own short transaction. The claim is conditional: it names the
version, stage and deadline it read. A second worker, a retried job or a job re-run after a
crash finds the claim gone (a VersionConflict at the version check or the guarded UPDATE,
None from `breach`, or the breach table's unique key) and writes nothing. After its
commits the sweep publishes once; if that fails the relay job catches up (outbox rule).

Amber. Whether an incident is amber is derivable from `warn_at` (75 % of the way to the
deadline, set with every deadline), so amber writes nothing to SQL: screens colour from
the deadlines they hold. The amber sweep only announces the moment an incident turns
amber, once per (incident, deadline): a Redis SET NX on a key naming both, kept until
after the deadline, is the claim. Its window starts at a cursor in Redis, so each sweep
reads only what turned amber since the last one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from models import Incident
from models import lifecycle
from models.actor import Actor
from models.enums import AreaLevel, Stage
from models.errors import IllegalTransition, VersionConflict
from models.types import utcnow
from workers import keys, live

SLA_ACTOR = Actor.system("sla-timer")
# How far back the amber window reaches when Redis has no cursor (first start, rebuilt Redis).
AMBER_LOOKBACK = timedelta(days=7)
# An amber claim outlives its deadline by this much, so a late sweep cannot announce it again.
AMBER_KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Claim:
    """What a sweep read about one due incident; the breach holds only if all of it still does."""

    incident_id: int
    version: int
    stage: Stage
    deadline: datetime


@dataclass(frozen=True)
class SweepPage:
    examined: int
    breached: int


@dataclass(frozen=True)
class Amber:
    incident_id: int
    stage: Stage
    deadline: datetime
    warn_at: datetime
    level: AreaLevel
    area_ids: tuple[int, ...]


# ---------------------------------------------------------------- breach

def list_due(session: Session, now: datetime, limit: int) -> list[Claim]:
    """Unclaimed passed deadlines, oldest first."""
    rows = session.execute(
        select(Incident.id, Incident.version, Incident.due_stage, Incident.due_at)
        .where(Incident.due_at <= now, Incident.due_breached.is_(False))
        .order_by(Incident.due_at)
        .limit(limit)
    )
    return [Claim(*row) for row in rows]


def claim_breach(session: Session, claim: Claim, now: datetime) -> bool:
    """Record one breach and commit it; False (nothing written) if the claim no longer holds."""
    # Breaches loaded up front: a lazy load inside `breach` would autoflush half a change.
    incident = session.get(Incident, claim.incident_id, options=[selectinload(Incident.breaches)])
    if incident is None:
        return False
    try:
        event = lifecycle.breach(session, incident, SLA_ACTOR, expected_version=claim.version,
                                 stage=claim.stage, deadline=claim.deadline, now=now)
        if event is None:
            session.rollback()
            return False
        session.commit()
    except (VersionConflict, IllegalTransition, IntegrityError, StaleDataError):
        session.rollback()
        return False
    return True


def step_breaches(session_factory: sessionmaker, *, now: datetime, limit: int) -> SweepPage:
    """One page of the sweep: list what is due, then claim each in its own transaction."""
    with session_factory() as session:
        claims = list_due(session, now, limit)
    breached = 0
    for claim in claims:
        with session_factory() as session:
            breached += claim_breach(session, claim, now)
    return SweepPage(examined=len(claims), breached=breached)


def sweep_breaches(session_factory: sessionmaker, redis, *, now: datetime | None = None,
                   limit: int = 500) -> int:
    """Breach every passed deadline once; returns how many breaches this call recorded."""
    now = now or utcnow()
    total = 0
    while True:
        page = step_breaches(session_factory, now=now, limit=limit)
        total += page.breached
        # A full page with progress may hide more; a page of lost races waits for the next tick.
        if page.examined < limit or page.breached == 0:
            break
    if total:
        live.publish_committed(session_factory, redis)
    return total


# ---------------------------------------------------------------- amber

def list_turned_amber(session: Session, since: datetime, now: datetime, limit: int) -> list[Amber]:
    """Incidents whose amber band began in [since, now] and whose deadline is still ahead."""
    rows = session.execute(
        select(Incident.id, Incident.due_stage, Incident.due_at, Incident.warn_at, Incident.level,
               Incident.city_id, Incident.town_id, Incident.village_id, Incident.grid_id,
               Incident.area_id)
        .where(Incident.warn_at >= since, Incident.warn_at <= now, Incident.due_at > now,
               Incident.due_breached.is_(False))
        .order_by(Incident.warn_at)
        .limit(limit)
    )
    return [Amber(r[0], r[1], r[2], r[3], r[4], tuple(dict.fromkeys(a for a in r[5:] if a)))
            for r in rows]


def read_amber_cursor(redis) -> datetime | None:
    raw = redis.get(keys.AMBER_CURSOR)
    return datetime.fromisoformat(raw) if raw else None


def publish_amber(redis, amber: Amber, now: datetime) -> bool:
    """Announce one incident turning amber, unless this (incident, deadline) already was."""
    claim = keys.AMBER_SENT.format(incident_id=amber.incident_id,
                                   deadline=int(amber.deadline.timestamp()))
    keep = max(int((amber.deadline - now + AMBER_KEEP).total_seconds()), 1)
    if not redis.set(claim, now.isoformat(), nx=True, ex=keep):
        return False
    message = json.dumps({
        "kind": "amber", "incident_id": amber.incident_id, "stage": amber.stage.value,
        "deadline": amber.deadline.isoformat(), "warn_at": amber.warn_at.isoformat(),
        "level": amber.level.value,
    })
    with redis.pipeline(transaction=False) as pipe:
        for area_id in amber.area_ids:
            pipe.publish(keys.CHANNEL_AMBER.format(area_id=area_id), message)
        pipe.execute()
    return True


def sweep_amber(session_factory: sessionmaker, redis, *, now: datetime | None = None,
                limit: int = 1000) -> int:
    """Announce what turned amber since the last sweep; returns how many were announced."""
    now = now or utcnow()
    cursor = read_amber_cursor(redis)
    since = cursor or now - AMBER_LOOKBACK
    with session_factory() as session:
        rows = list_turned_amber(session, since, now, limit)
    announced = sum(publish_amber(redis, row, now) for row in rows)
    # A full page resumes from its last row next time (the claims make the overlap harmless),
    # unless the whole page shares one instant: then move on rather than stall.
    full = len(rows) == limit and rows[-1].warn_at > since
    upto = rows[-1].warn_at if full else now
    if cursor is None or upto > cursor:
        redis.set(keys.AMBER_CURSOR, upto.isoformat())
    return announced
