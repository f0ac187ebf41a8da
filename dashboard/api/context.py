"""What a request works with: the app's session factory, Redis client and reference cache,
one SQL session per request, and commit-then-publish.

The session is opened on first use and closed when the request ends, which rolls back
anything not committed: a request that fails writes nothing. Live state is published
only after a commit (ARCHITECTURE.md, rule 1), so Redis never sees a rolled-back change.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

import redis as redis_lib
from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from dashboard.api.cache import TtlCache
from dashboard.api.publisher import LivePublisher
from dashboard.api.reference import Reference
from models.sla import PolicyCache, share_policy

log = logging.getLogger(__name__)
EXTENSION = "grid"

Publisher = Callable[[sessionmaker[Session], redis_lib.Redis], int]


@dataclass
class Services:
    sessions: sessionmaker[Session]
    redis: redis_lib.Redis
    reference: Reference
    publisher: LivePublisher
    # Token look-ups, kept for a few seconds: a revoked token stops within API_TOKEN_CACHE_SECONDS.
    tokens: TtlCache
    # The time-limit rules, reloaded when an admin change moves their version (models/sla.py).
    rules: PolicyCache
    write_lock: AbstractContextManager  # see make_write_lock


def get_publisher() -> Publisher | None:
    """workers.live.publish_committed, or None while that module does not exist."""
    try:
        from workers.live import publish_committed
    except ImportError:
        log.warning("workers.live is missing: changes are committed but not published")
        return None
    return publish_committed


def install(app: Flask, services: Services) -> None:
    app.extensions[EXTENSION] = services
    app.teardown_appcontext(close_session)


def get_services() -> Services:
    return current_app.extensions[EXTENSION]


def get_session() -> Session:
    """This request's session, holding the cached time-limit rules that models.sla reads."""
    if "db" not in g:
        services = get_services()
        g.db = session = services.sessions()
        share_policy(session, services.rules)
    return g.db


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()


@contextmanager
def writing(session: Session) -> Iterator[None]:
    """Write in the block, commit at its end, then bring live state up to date (see
    publisher.py). An exception in the block commits nothing (the session is rolled back
    when the request ends). Publishing never fails the request: the change is safe in SQL
    and the relay applies it later if Redis is away."""
    services = get_services()
    with services.write_lock:
        yield
        session.commit()
    services.publisher.after_commit()


def make_write_lock(sessions: sessionmaker[Session]) -> AbstractContextManager:
    """SQLite has one writer at a time, and a connection that finds the database locked
    sleeps 1, 2, 5, 10… ms between tries. Threads of one process queue on a lock of ours
    instead (about 12% more reports/s with 8 clients); processes still take turns in
    SQLite. PostgreSQL runs writes side by side, so there is no lock there."""
    if sessions.kw["bind"].dialect.name == "sqlite":
        return threading.Lock()
    return nullcontext()
