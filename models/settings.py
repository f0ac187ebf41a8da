"""Settings read strictly from environment variables.

Every helper fails loudly on a bad value instead of falling back quietly:
a command centre would rather not start than start against the wrong database.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    """An environment variable holds a value we cannot use."""


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def env_url(name: str, default: str | None, schemes: tuple[str, ...]) -> str | None:
    raw = env_str(name, default)
    if raw is None:
        return None
    scheme = urlparse(raw).scheme.split("+")[0]
    if scheme not in schemes:
        raise SettingsError(f"{name} must start with one of {schemes}, got {raw!r}")
    return raw


def var_dir() -> Path:
    """Where the embedded default keeps its files (SQLite, Redis data, reports)."""
    path = Path(env_str("GRID_VAR_DIR", str(ROOT / "var")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    default = f"sqlite:///{var_dir() / 'grid.sqlite3'}"
    return env_url("DATABASE_URL", default, ("sqlite", "postgresql"))


def embedded_redis_state() -> Path:
    return var_dir() / "redis" / "state.json"


def redis_url() -> str:
    """REDIS_URL, or the URL of the embedded Redis that `python -m workers up` started."""
    url = env_url("REDIS_URL", None, ("redis", "rediss", "unix"))
    if url:
        return url
    state = embedded_redis_state()
    if not state.exists():
        raise SettingsError(
            "REDIS_URL is not set and the embedded Redis is not running; "
            "start the system with ./run.sh (or python -m workers up)"
        )
    return json.loads(state.read_text())["url"]


CITY_TZ = "Asia/Shanghai"
