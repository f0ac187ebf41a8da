"""What every benchmark prints: the machine it ran on, and figures beside their targets."""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time


def describe_machine() -> str:
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    sqlite = subprocess.run(["python3", "-c", "import sqlite3;print(sqlite3.sqlite_version)"],
                            capture_output=True, text=True).stdout.strip()
    return (f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {mem:.1f} GiB, "
            f"Python {platform.python_version()}, SQLite {sqlite}, load average {load:.2f}, "
            f"CPU reference {cpu_reference():.0f} ms")


def cpu_reference(rounds: int = 5) -> float:
    """Milliseconds one core takes for a fixed piece of pure Python (dict and string work,
    like a request's), median of `rounds`: lets figures from different hosts be compared.
    Lower is faster; it reads high when other work shares the cores."""
    def work() -> int:
        table: dict[str, int] = {}
        for n in range(200_000):
            key = f"k{n % 5000}"
            table[key] = table.get(key, 0) + n
        return len(table)

    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def figure(name: str, value: float, unit: str, target: str) -> str:
    return f"  {name:<44} {value:>10.2f} {unit:<12} target: {target}"


def median(values: list[float]) -> float:
    return statistics.median(values)
