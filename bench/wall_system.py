"""What the wall benchmarks share: a whole running system (bench/wall_probe.py drives it).

`WallSystem` starts what ./run.sh starts, in production form, in a folder of its own:
a copy of a cached seeded city with 8 days of history (`python -m seed ensure` +
`python -m seed history`), a fresh GRID_VAR_DIR, `python -m workers up` (embedded Redis, RQ
workers, scheduler) and the dashboard under gunicorn with threads, plus an API token made
with `python -m dashboard create-token`. It returns once the live state is rebuilt and the
wall figures are written, so a wall opened then is complete.

Building the history takes a minute or two, so the seeded file is cached under /tmp, keyed
by days, volume and the Asia/Shanghai date (the history ends when it is built, and a wall
compares today with the same day last week, so yesterday's file would show an empty today).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Self

import redis as redis_lib

from bench.intake import free_port, wait_ready
from models.sla import CITY_ZONE
from workers import keys

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path("/tmp/grid-bench-wall")
PYTHON = sys.executable
USER, PASSWORD = "bench-wall", "bench-wall-password-2026"


# ---------------------------------------------------------------- the seeded city, cached

def get_city_database(days: int = 8, per_day: int = 1500) -> Path:
    """A seeded city with `days` of history ending at build time, built on first use today."""
    day = datetime.now(CITY_ZONE).strftime("%Y%m%d")
    path = CACHE / f"wall-{days}d-{per_day}-{day}.sqlite3"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{partial}", "GRID_VAR_DIR": str(CACHE / "var")}
    started = time.perf_counter()
    for args in (["ensure"], ["history", "--days", str(days), "--per-day", str(per_day)]):
        subprocess.run([PYTHON, "-m", "seed", "--quiet", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    partial.rename(path)
    print(f"  seeded city with {days} days of history built in {time.perf_counter() - started:.0f} s",
          flush=True)
    return path


# ---------------------------------------------------------------- the system

class WallSystem:
    """Workers, embedded Redis and the gunicorn dashboard on a private copy of the city."""

    def __init__(self, folder: Path, *, workers: int = 2, threads: int = 16, days: int = 8,
                 per_day: int = 1500, extra_env: dict | None = None):
        self.folder, self.workers, self.threads = Path(folder), workers, threads
        self.days, self.per_day, self.extra_env = days, per_day, extra_env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.token = self.redis_url = None

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so `with` stops what it started
        database = self.folder / "city.sqlite3"
        shutil.copyfile(get_city_database(self.days, self.per_day), database)
        self.database = database
        self.env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}",
                    "GRID_VAR_DIR": str(self.folder / "var"), **self.extra_env}
        self.env.pop("REDIS_URL", None)
        subprocess.run([PYTHON, "-m", "seed", "--quiet", "ensure"], cwd=ROOT, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)  # migrations added since the file was cached
        self.token = subprocess.run([PYTHON, "-m", "dashboard", "create-token", "bench-wall"], cwd=ROOT,
                                    env=self.env, check=True, capture_output=True,
                                    text=True).stdout.strip()
        self.user = self._create_user()
        self._spawn("workers", [PYTHON, "-m", "workers", "up"])
        self.redis_url = self._wait_redis()
        self._spawn("dashboard", [PYTHON, "-m", "gunicorn", "-w", "2", "--threads", str(self.threads),
                                  "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "5",
                                  "--log-level", "warning", "dashboard.app:create_server()"])
        wait_ready(self.port, self.processes["dashboard"])
        self._wait_live_state()

    def _create_user(self) -> tuple[str, str] | None:
        """A city operator to log in as, where the dashboard has logins (issue 5); else None."""
        with sqlite3.connect(self.database) as db:
            city = db.execute("select code from area where level='city' order by id").fetchone()[0]
        done = subprocess.run([PYTHON, "-m", "dashboard", "create-user", USER, "--role", "operator", "--area",
                               city, "--password-stdin"], cwd=ROOT, env=self.env, input=PASSWORD + "\n",
                              capture_output=True, text=True, check=False)
        if done.returncode != 0 and "invalid choice" in done.stderr:
            return None
        if done.returncode != 0:
            raise RuntimeError(f"create-user failed: {done.stderr.strip()}")
        return USER, PASSWORD

    def log_in(self, browser) -> dict | None:
        """The cookies of a logged-in wall user (for browser.new_context(storage_state=...)):
        one login per system, shared by every context, so login rate limits never bite."""
        if self.user is None:
            return None
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(self.url + "/login")
            page.fill("#username", self.user[0])
            page.fill("#password", self.user[1])
            with page.expect_navigation():
                page.click("#login-submit")
            if "/login" in page.url:
                raise RuntimeError(f"logging in as {self.user[0]} failed: {page.url}")
            return context.storage_state()
        finally:
            context.close()

    def _spawn(self, name: str, cmd: list[str]) -> None:
        with open(self.folder / f"{name}.log", "w") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log,
                                                    stderr=subprocess.STDOUT)

    def _wait_redis(self, timeout: float = 60) -> str:
        state = self.folder / "var" / "redis" / "state.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes["workers"].poll() is not None:
                raise RuntimeError(f"workers exited; see {self.folder / 'workers.log'}")
            if state.exists():
                try:
                    return json.loads(state.read_text())["url"]
                except ValueError:
                    pass
            time.sleep(0.2)
        raise RuntimeError("the embedded Redis did not start")

    def _wait_live_state(self, timeout: float = 180) -> None:
        """Until the relay has rebuilt the live state and the wall figures job has run."""
        client = redis_lib.Redis.from_url(self.redis_url, decode_responses=True)
        city = self.city_id()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if client.exists(keys.LIVE_CURSOR, keys.WALL_FIGURES.format(area_id=city)) == 2:
                    return
                time.sleep(0.5)
        finally:
            client.close()
        raise RuntimeError("the live state or the wall figures did not appear in time")

    def city_id(self) -> int:
        with sqlite3.connect(self.database) as db:
            return db.execute("select id from area where level='city' order by id").fetchone()[0]

    def wall_codes(self) -> dict[str, str]:
        """A town and one of its villages with the most reports (busy walls, not empty ones)."""
        with sqlite3.connect(self.database) as db:
            town = db.execute("select a.code, a.id from incident i join area a on a.id = i.town_id "
                              "group by a.id order by count(*) desc limit 1").fetchone()
            village = db.execute("select a.code from incident i join area a on a.id = i.village_id "
                                 "where i.town_id = ? group by a.id order by count(*) desc limit 1",
                                 (town[1],)).fetchone()
        return {"town": town[0], "village": village[0]}

    def grids(self, town: str | None = None) -> list[str]:
        """Grid codes of the city, or of one town (by its code)."""
        with sqlite3.connect(self.database) as db:
            if town is None:
                return [r[0] for r in db.execute("select code from area where level='grid'")]
            return [r[0] for r in db.execute("select g.code from area g join area t on t.id = g.town_id "
                                             "where g.level='grid' and t.code = ?", (town,))]

    def town_id(self, code: str) -> int:
        with sqlite3.connect(self.database) as db:
            return db.execute("select id from area where code = ?", (code,)).fetchone()[0]

    def items(self) -> list[str]:
        with sqlite3.connect(self.database) as db:
            return [r[0] for r in db.execute("select code from item")]

    def dashboard_pids(self) -> list[int]:
        """The gunicorn worker processes (the master only supervises)."""
        master = self.processes["dashboard"].pid
        try:
            with open(f"/proc/{master}/task/{master}/children") as fh:
                return [int(pid) for pid in fh.read().split()]
        except OSError:
            return []

    def stop(self) -> None:
        for name in ("dashboard", "workers"):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _exit_on_sigterm(*_) -> None:
    raise SystemExit(143)


def read_rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0
