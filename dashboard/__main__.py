"""Command line: python -m dashboard [--host H] [--port P] | create-token NAME | revoke-token NAME.

Without a command it runs the development server (Flask's threaded server) on
127.0.0.1:8050. In production run the same app under gunicorn with threads, one app per
worker process: gunicorn -w 2 --threads 4 'dashboard.app:create_server()'.
"""
from __future__ import annotations

import argparse
import sys

from models.db import make_engine, make_session_factory
from models.errors import DomainError
from models.settings import database_url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument("--debug", action="store_true", help="Dash dev tools and reloading")
    sub = parser.add_subparsers(dest="command")
    create = sub.add_parser("create-token", help="make an API token for an intake client; prints it once")
    create.add_argument("name", help="the client's name, e.g. field-app (a-z, 0-9, . _ -)")
    revoke = sub.add_parser("revoke-token", help="revoke every active token with this name")
    revoke.add_argument("name")
    return parser


def _with_session(work) -> int:
    engine = make_engine(database_url())
    try:
        with make_session_factory(engine)() as session:
            result = work(session)
            session.commit()
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(result)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "create-token":
        from models.token import create_token

        return _with_session(lambda session: create_token(session, args.name))
    if args.command == "revoke-token":
        from models.token import revoke_tokens

        return _with_session(lambda session: f"revoked {revoke_tokens(session, args.name)} token(s)")
    from dashboard.app import config_from_env, create_app

    create_app(config=config_from_env()).run(host=args.host, port=args.port, debug=args.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
