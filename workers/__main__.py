"""Command line: python -m workers up.

`up` starts what the system has so far and keeps it running until interrupted:
the private redis-server of the embedded default (unless REDIS_URL names one).
Later issues add the RQ workers and scheduler here.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

import redis

from models import settings
from workers.embedded_redis import EmbeddedRedis


def _already_running(state_file) -> str | None:
    if not state_file.exists():
        return None
    url = json.loads(state_file.read_text())["url"]
    try:
        redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return url


def up() -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if settings.env_str("REDIS_URL"):
        print(f"using Redis at {settings.redis_url()}", flush=True)
        stop.wait()
        return 0
    state_file = settings.embedded_redis_state()
    running = _already_running(state_file)
    if running:
        print(f"the embedded Redis is already running at {running}", file=sys.stderr)
        return 1
    server = EmbeddedRedis(state_file.parent).start()
    state_file.write_text(json.dumps({"url": server.url, "pid": os.getpid()}))
    try:
        print(f"embedded Redis running at {server.url} (data in {state_file.parent})", flush=True)
        print(f"database: {settings.database_url()}", flush=True)
        print("press Ctrl-C to stop", flush=True)
        stop.wait()
    finally:
        state_file.unlink(missing_ok=True)
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the embedded Redis (and, later, the workers) until Ctrl-C")
    args = parser.parse_args(argv)
    if args.command == "up":
        return up()
    return 2


if __name__ == "__main__":
    sys.exit(main())
