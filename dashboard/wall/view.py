"""The wall's live panels (headline numbers, deadline board, feed) as display-ready data.

`assets/wall.js` draws these panels from a *state*: first the one the page carries when it
loads, then each one the stream pushes with a change (`dashboard.wall.stream`). Every word,
number and time is formatted here, in the wall's language and in Asia/Shanghai, so the
browser only places text; it never parses or formats a figure (except the countdowns, which
tick every second from `due`).

Why not Dash callbacks: a callback per change cost the browser's dash-renderer about 60 % of
a core at the city's 50 reports/s (every component on the page re-checks the store on each
of a callback's dispatches) and the server a Dash request per change per screen. A state
pushed on the stream costs one Redis read per area and language (`LiveStates`), however
many screens show it, and a few DOM writes (bench/RESULTS.md, "fourth session").
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from dashboard.wall.data import Headline
from dashboard.wall.i18n import t
from dashboard.wall.panels import local_time


def format_value(h: Headline, lang: str) -> str:
    if h.value is None:
        return t("no_figure", lang)
    return f"{h.value * 100:.1f}%" if h.is_rate else f"{h.value:,}"


def format_delta(h: Headline, lang: str) -> tuple[str, str]:
    """The change against last week, and its tone: good, bad or flat."""
    if h.value is None or h.last_week is None:
        return t("vs_last_week", lang) + " —", "flat"
    change = h.value - h.last_week
    if abs(change) < 1e-9:
        return f"{t('vs_last_week', lang)} ＝", "flat"
    if h.is_rate:
        amount = f"{abs(change) * 100:.1f} " + ("个百分点" if lang == "zh" else "pts")
    else:
        amount = f"{abs(change):,}"
    better = (change > 0) == h.higher_is_better
    return f"{t('vs_last_week', lang)} {'▲' if change > 0 else '▼'} {amount}", "good" if better else "bad"


def kpi_view(h: Headline, lang: str) -> dict:
    delta, tone = format_delta(h, lang)
    return {"key": h.key, "label": t(h.key, lang), "value": format_value(h, lang),
            "delta": delta, "tone": tone}


def board_view(row: dict, lang: str) -> dict:
    """A deadline-board row (`data.build_board_row`) as it is shown."""
    return {"id": row["id"], "item": row["item"], "area": row["area"],
            "stage": t(f"stage.{row['stage']}", lang) if row["stage"] else "",
            "due": row["due"] or "", "warn": row["warn"] or "",
            "due_label": local_time(row["due"], "%m-%d %H:%M"), "band": row["band"],
            "alarm": t("board.alarm", lang) if row["alarm"] else ""}


def feed_view(entry: dict, lang: str) -> dict:
    return {"id": entry["id"], "time": local_time(entry["at"], "%H:%M"), "item": entry["item"],
            "area": entry["area"], "text": entry["text"]}


def live_view(live: dict, lang: str) -> dict:
    """A wall's state from `data.read_live`. `seq` is the relay's cursor the state reflects
    (0 when unknown): the browser never replaces a state with an older one."""
    return {"seq": live["seq"] or 0, "at": live["at"],
            "kpis": [kpi_view(h, lang) for h in live["headlines"]],
            "board": [board_view(row, lang) for row in live["board"]],
            "feed": [feed_view(entry, lang) for entry in live["feed"]]}


class LiveStates:
    """The newest state of each (area, language) this process built, shared by its streams.
    Used for the live panels' states and for the slow panels' (`dashboard.wall.panels`),
    which do not follow the relay and carry `seq` 0.

    `get(area_id, lang, seq)` returns a state reflecting at least the relay's cursor `seq`
    (the newest notice a stream is about to announce), read at most `max_age` seconds ago;
    otherwise it reads a new one with `read(area_id, lang)`. Ten screens on the city wall
    then cost one read per change, not ten. Two streams asking at once may both read: the
    newer result is kept, and nothing waits on another stream's read.
    """

    def __init__(self, read: Callable[[int, str], dict], max_age: float):
        self.read, self.max_age = read, max_age
        self._lock = threading.Lock()
        self._states: dict[tuple[int, str], tuple[float, dict]] = {}
        self.reads = 0  # states built (for tests and benchmarks)

    def get(self, area_id: int, lang: str, seq: int | None = None, *, fresh: bool = False) -> dict:
        """`fresh`: read anew whatever is kept (after an outage, what was kept may be stale)."""
        key, now = (area_id, lang), time.monotonic()
        with self._lock:
            kept = self._states.get(key)
        if (not fresh and kept is not None and now - kept[0] <= self.max_age
                and kept[1]["seq"] >= (seq or 0)):
            return kept[1]
        started = time.perf_counter()
        state = self.read(area_id, lang)
        state["ms"] = round((time.perf_counter() - started) * 1000, 1)
        with self._lock:
            self.reads += 1
            kept = self._states.get(key)
            if kept is None or kept[1]["seq"] <= state["seq"]:
                self._states[key] = (now, state)
        return state
