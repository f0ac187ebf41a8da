"""The commands a newcomer and an operator type, run as real subprocesses."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import redis as redis_lib

from tests.conftest import REPO, require_file


def _run(args, env_extra, **kwargs):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, **kwargs)


def test_it_migrates_and_seeds_an_empty_database_once(db_url, tmp_path):
    env = {"DATABASE_URL": db_url, "GRID_VAR_DIR": str(tmp_path)}
    first = _run(["seed", "--quiet", "ensure"], env)
    assert first.returncode == 0, first.stderr
    stats = json.loads(first.stdout)
    assert (stats["towns"], stats["villages"], stats["grids"]) == (35, 593, 3106)
    assert (stats["categories"], stats["items"]) == (20, 83)
    again = _run(["seed", "--quiet", "ensure"], env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == stats


def test_it_prints_one_json_line_for_an_import_and_names_the_report(city_engine, tmp_path):
    source = require_file("seed/data/311/nyc_311_sample_oct2018.csv")
    env = {"DATABASE_URL": city_engine.url.render_as_string(hide_password=False),
           "GRID_VAR_DIR": str(tmp_path)}
    result = _run(["seed", "import", str(source), "--format", "nyc-311"], env)
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.strip().splitlines()
    summary = json.loads(line)
    assert summary["rows"] == 6765
    assert summary["imported"] + summary["rejected"] == summary["rows"]
    assert summary["report"] in result.stderr
    assert (tmp_path / "imports").exists()


def test_it_refuses_an_unknown_format_with_a_clear_message(city_engine, tmp_path):
    env = {"DATABASE_URL": city_engine.url.render_as_string(hide_password=False),
           "GRID_VAR_DIR": str(tmp_path)}
    result = _run(["seed", "import", "nothing.csv", "--format", "paris-311"], env)
    assert result.returncode != 0
    assert "nyc-311" in result.stderr and "la-myla311" in result.stderr


def test_it_runs_a_private_redis_until_stopped(tmp_path):
    env = {**os.environ, "GRID_VAR_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "workers", "up"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = tmp_path / "redis" / "state.json"
    try:
        deadline = time.monotonic() + 30
        while not state.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert state.exists(), proc.stderr.read() if proc.poll() is not None else "no state file"
        url = json.loads(state.read_text())["url"]
        assert redis_lib.Redis.from_url(url, socket_timeout=2).ping()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert not state.exists()


def test_it_backfills_daily_metrics_from_the_command_line(city_engine, tmp_path):
    url = city_engine.url.render_as_string(hide_password=False)
    env = {"DATABASE_URL": url, "GRID_VAR_DIR": str(tmp_path)}
    from models.db import make_session_factory
    from seed.history import generate_history

    with make_session_factory(city_engine)() as session:
        generate_history(session, days=2, per_day=100, seed=2, progress=False)
    result = _run(["workers", "metrics", "backfill", "--days", "2"], env)
    assert result.returncode == 0, result.stderr
    from sqlalchemy import func, select

    from models import DailyMetric
    with make_session_factory(city_engine)() as session:
        assert session.scalar(select(func.count()).select_from(DailyMetric)) > 0
