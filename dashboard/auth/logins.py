"""Logins kept on the server, so that logging out really ends them.

Flask's session is a signed cookie: on its own, a copy taken before logout would still
work afterwards, and Flask-Login's "remember me" cookie (`<id>|<hmac>` of the user id)
would work forever. So every login gets a random id, recorded in Redis
(keys.LOGIN), and the id Flask-Login stores in both cookies is "<staff id>:<login id>"
(Flask-Login's "alternative token"). A request counts as logged in only while that record
exists, names the same person, and the person's password hash has not changed since:
logout deletes the record, and setting a new password ends every login of that person.

Redis unreachable: the request is treated as anonymous (fail closed). Pages show the
login notice until Redis is back; the walls' streams retry on their own (assets/wall.js).
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import redis as redis_lib
from flask_login import UserMixin

from models.actor import Actor
from workers import keys

log = logging.getLogger(__name__)

REMEMBER = timedelta(days=30)  # "remember this screen": walls are kiosks that run for days
IDLE = timedelta(hours=12)     # otherwise a login ends after this long unused (about a shift)
REDIS_DOWN = (redis_lib.ConnectionError, redis_lib.TimeoutError)


@dataclass(frozen=True, eq=False)
class LoginUser(UserMixin):
    """The logged-in person as Flask-Login sees them: a snapshot read once per request."""

    actor: Actor
    username: str
    login_id: str

    def get_id(self) -> str:
        return f"{self.actor.id}:{self.login_id}"


def fingerprint(password_hash: str | None) -> str:
    """A short digest of the stored hash: a new password changes it and ends old logins."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def start_login(redis: redis_lib.Redis, staff_id: int, password_hash: str, *, remember: bool) -> str:
    """Record a new login and return its id (Redis errors propagate: no record, no login)."""
    login_id = ("r" if remember else "s") + secrets.token_urlsafe(24)
    redis.set(keys.LOGIN.format(login_id=login_id), f"{staff_id}:{fingerprint(password_hash)}",
              ex=REMEMBER if remember else IDLE)
    return login_id


def end_login(redis: redis_lib.Redis, login_id: str) -> None:
    try:
        redis.delete(keys.LOGIN.format(login_id=login_id))
    except REDIS_DOWN:
        log.warning("logout could not reach Redis: login %s… lapses with its TTL", login_id[:6])


def parse_user_id(user_id: str) -> tuple[int, str] | None:
    """(staff id, login id) from Flask-Login's stored id, or None if it is not one of ours."""
    staff, _, login_id = (user_id or "").partition(":")
    if not staff.isdigit() or len(login_id) < 16 or login_id[0] not in "rs":
        return None
    return int(staff), login_id


def read_login(redis: redis_lib.Redis, login_id: str) -> tuple[int, str] | None:
    """(staff id, password fingerprint) of a live login, sliding an idle login's expiry;
    None if it ended, expired, or Redis cannot be asked."""
    key = keys.LOGIN.format(login_id=login_id)
    try:
        value = redis.get(key) if login_id.startswith("r") else redis.getex(key, ex=IDLE)
    except REDIS_DOWN:
        log.warning("Redis unreachable: treating login %s… as logged out for now", login_id[:6])
        return None
    if not value:
        return None
    staff, _, print_ = str(value).partition(":")
    return (int(staff), print_) if staff.isdigit() else None
