"""API tokens, for intake clients or acting as one person. Only the SHA-256 of a token is
stored; the token itself is shown once, when it is made, and cannot be read back."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base
from models.errors import Invalid, NotFound
from models.types import UTCDateTime, utcnow

# A name ends up in incident.source as "api:<name>", which holds 32 characters.
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,27}$")


class ApiToken(Base):
    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_name", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not unique: a client's token is rotated by making a new one under the same name,
    # then revoking the old one. The name keys idempotent retries, so they survive that.
    name: Mapped[str] = mapped_column(String(28))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set: the token acts as this person (their role and jurisdiction). None: an intake
    # client, a trusted system (importer, gateway, simulator) acting as Actor.system.
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str, *, staff_id: int | None = None,
                 now: datetime | None = None) -> str:
    """Store a new token's hash under `name` and return the token (the only time it exists).
    With `staff_id` the token acts as that person (their role and jurisdiction)."""
    if not NAME.match(name or ""):
        raise Invalid("name", "a token name is 1-28 characters: a-z, 0-9, '.', '_' or '-'")
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=hash_token(token), created_at=now or utcnow(),
                         staff_id=staff_id))
    session.flush()
    return token


def get_active_token(session: Session, token: str) -> ApiToken | None:
    """The unrevoked token row matching a presented token, or None."""
    return session.scalar(select(ApiToken).where(
        ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)))


def revoke_tokens(session: Session, name: str, *, now: datetime | None = None) -> int:
    """Revoke every active token under `name`; returns how many."""
    rows = session.scalars(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
    count = 0
    for row in rows:
        row.revoked_at, count = now or utcnow(), count + 1
    if not count:
        raise NotFound(f"no active token named {name!r}", field="name")
    return count
