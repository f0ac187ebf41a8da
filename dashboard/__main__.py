"""Command line: python -m dashboard [--host H] [--port P] | create-token NAME [--user U] |
revoke-token NAME | create-user USERNAME --role R --area CODE [--name N] | set-password USERNAME.

Without a command it runs the development server (Flask's threaded server) on
127.0.0.1:8050. In production run the same app under gunicorn with threads, one app per
worker process: gunicorn -w 2 --threads 4 'dashboard.app:create_server()'.

Passwords are asked twice at a prompt (never echoed, never an argument a process list
shows); --password-stdin reads one line from standard input instead, for scripts.
set-password ends the person's logins in SQL and deletes their copies from the system's
Redis (REDIS_URL or the embedded one); if Redis cannot be reached, the screens notice
within 5 minutes (dashboard/auth/logins.py, COPY_TTL).
"""
from __future__ import annotations

import argparse
import getpass
import sys

from models.db import make_engine, make_session_factory
from models.errors import DomainError
from models.settings import SettingsError, database_url, redis_url

ROLES = ("operator", "shift_lead", "leader", "admin")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument("--debug", action="store_true", help="Dash dev tools and reloading")
    sub = parser.add_subparsers(dest="command")
    create = sub.add_parser("create-token", help="make an API token; prints it once")
    create.add_argument("name", help="the client's name, e.g. field-app (a-z, 0-9, . _ -)")
    create.add_argument("--user", help="act as this person (their role and jurisdiction); "
                                       "without it the token is a trusted intake system")
    revoke = sub.add_parser("revoke-token", help="revoke every active token with this name")
    revoke.add_argument("name")
    user = sub.add_parser("create-user", help="add a person who logs in to the centre's screens")
    user.add_argument("username", help="2-64 characters: a-z, 0-9, . _ -")
    user.add_argument("--role", required=True, choices=ROLES)
    user.add_argument("--area", required=True, help="their jurisdiction: a city, town or village code")
    user.add_argument("--name", help="the name screens show (default: the username)")
    user.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    password = sub.add_parser("set-password", help="set a person's password (ends their logins)")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    return parser


def _with_session(work) -> int:
    engine = make_engine(database_url())
    try:
        with make_session_factory(engine)() as session:
            result = work(session)
            session.commit()
    except DomainError as exc:
        field = f"{exc.field}: " if exc.field else ""
        print(f"error: {field}{exc.detail}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(result)
    return 0


def read_password(from_stdin: bool) -> str | None:
    """The new password, or None (told on stderr) when the two prompts differ."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        print("error: the two passwords differ; nothing changed", file=sys.stderr)
        return None
    return first


def open_redis():
    """The system's Redis, for deleting login copies; None (said on stderr) when it has none."""
    import redis as redis_lib

    from dashboard.auth.logins import COPY_TTL

    try:
        url = redis_url()
    except SettingsError:
        print(f"note: no Redis to reach (REDIS_URL unset, the embedded one not running): the logins "
              f"end in SQL; a screen holding a copy notices within {COPY_TTL}", file=sys.stderr)
        return None
    return redis_lib.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, decode_responses=True)


def _create_token(session, args) -> str:
    from dashboard.auth.accounts import get_staff
    from models.token import create_token

    staff_id = get_staff(session, args.user).id if args.user else None
    return create_token(session, args.name, staff_id=staff_id)


def _account_command(args) -> int:
    from dashboard.auth import accounts

    secret = read_password(args.password_stdin)
    if secret is None:
        return 1

    def create(session) -> str:
        staff = accounts.create_user(session, args.username, role=args.role, area_code=args.area,
                                     password=secret, name=args.name)
        return f"created {staff.username} ({staff.role.value}, area {args.area})"

    if args.command == "create-user":
        return _with_session(create)
    redis = open_redis()
    try:  # the logins end with the commit; their Redis copies are deleted right after it
        return _with_session(lambda session: "password set for "
                             + accounts.set_password(session, args.username, secret, redis).username)
    finally:
        if redis is not None:
            redis.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "create-token":
        return _with_session(lambda session: _create_token(session, args))
    if args.command == "revoke-token":
        from models.token import revoke_tokens

        return _with_session(lambda session: f"revoked {revoke_tokens(session, args.name)} token(s)")
    if args.command in ("create-user", "set-password"):
        return _account_command(args)
    from dashboard.app import config_from_env, create_app

    create_app(config=config_from_env()).run(host=args.host, port=args.port, debug=args.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
