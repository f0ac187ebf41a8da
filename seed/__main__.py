"""Command line: python -m seed {migrate,city,history,import,stats,ensure,simulate}."""
from __future__ import annotations

import argparse
import json
import sys

from models.db import make_engine, make_session_factory
from models.settings import database_url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seed", description=__doc__)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database schema to the newest migration")
    city = sub.add_parser("city", help="build the reference city in an empty database")
    city.add_argument("--seed", type=int, default=2024)
    history = sub.add_parser("history", help="generate closed-loop history through the lifecycle")
    history.add_argument("--days", type=int, default=90)
    history.add_argument("--per-day", type=int, default=3000)
    history.add_argument("--seed", type=int, default=7)
    imp = sub.add_parser("import", help="import a city's 311 export")
    imp.add_argument("file")
    imp.add_argument("--format", required=True, dest="fmt")
    imp.add_argument("--report", help="where to write the rejected rows (CSV)")
    sub.add_parser("stats", help="print what the database holds as one JSON object")
    sub.add_parser("ensure", help="migrate, and build the city if the database is empty")
    sim = sub.add_parser("simulate", help="drive the live system through the HTTP API")
    sim.add_argument("--rate", type=float, default=0.5, help="new incidents per second (Poisson)")
    sim.add_argument("--url", default="http://127.0.0.1:8050", help="the API server")
    sim.add_argument("--token", help="an API token (default: env GRID_API_TOKEN)")
    sim.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C)")
    sim.add_argument("--speed", type=float, default=60.0, help="simulated minutes per real minute")
    sim.add_argument("--seed", type=int)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    url = database_url()
    if args.command in ("migrate", "ensure"):
        from models.migrate import upgrade

        upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        result = _run(args, session)
    engine.dispose()
    if result is not None:
        print(json.dumps(result, ensure_ascii=False))
    return 0


def _run(args, session):
    progress = not args.quiet and sys.stderr.isatty()
    if args.command == "city" or (args.command == "ensure" and _is_empty(session)):
        from seed.city import build_city

        build_city(session, args.seed if args.command == "city" else 2024, progress=progress)
        session.commit()
    if args.command in ("city", "ensure"):
        from dashboard.auth.accounts import set_demo_passwords

        set_demo_passwords(session)  # GRID_DEMO_PASSWORD; only accounts with no password yet
        session.commit()
    if args.command == "history":
        from seed.history import generate_history

        return generate_history(session, days=args.days, per_day=args.per_day, seed=args.seed,
                                progress=progress)
    if args.command == "simulate":
        from seed.simulate import simulate_command

        return simulate_command(session, args)
    if args.command == "import":
        from seed.importer import run_import

        return run_import(session, args.file, args.fmt, report_path=args.report)
    if args.command in ("stats", "ensure", "city"):
        from seed.stats import get_stats

        return get_stats(session)
    return None


def _is_empty(session) -> bool:
    from models import Area

    return session.query(Area.id).first() is None


if __name__ == "__main__":
    sys.exit(main())
