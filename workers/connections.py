"""Connections for process entry points (RQ jobs, the relay loop, the web server).

Library code never reaches for these: it takes `session` or `redis` as arguments. Entry
points call `get_session_factory()` / `get_redis()` once per process; a forked RQ work
horse gets fresh ones because the cache is keyed by process id.
"""
from __future__ import annotations

import os

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from sqlalchemy.orm import Session, sessionmaker

from models import settings
from models.db import make_engine, make_session_factory

# Blocking reads (pub/sub, BRPOP) need explicit timeouts with redis-py 8.
SOCKET_TIMEOUT = 10
_cache: dict[tuple[int, str], object] = {}


def get_session_factory(url: str | None = None) -> sessionmaker[Session]:
    url = url or settings.database_url()
    key = (os.getpid(), f"db:{url}")
    if key not in _cache:
        _cache[key] = make_session_factory(make_engine(url))
    return _cache[key]


def get_redis(url: str | None = None, *, decode: bool = True) -> redis.Redis:
    url = url or settings.redis_url()
    key = (os.getpid(), f"redis:{url}:{decode}")
    if key not in _cache:
        # Fail fast when Redis is down: SQL is the truth and the relay catches up later,
        # so a writer must not hang for seconds in redis-py's default retries.
        _cache[key] = redis.Redis.from_url(
            url, decode_responses=decode, socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=1, health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2))
    return _cache[key]
