"""CPU time and memory of a process from /proc (psutil is not a dependency)."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of every thread of the process so far."""
    return _stat_cpu_seconds(Path(f"/proc/{pid}/stat"))


def main_thread_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of the process's main thread (the event loop's) so far."""
    return _stat_cpu_seconds(Path(f"/proc/{pid}/task/{pid}/stat"))


def _stat_cpu_seconds(path: Path) -> float:
    stat = path.read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def rss_bytes(pid: int) -> int:
    """Resident set size now."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_model() -> str:
    """The CPU's model name."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def busy_seconds_per_cpu() -> dict[str, float]:
    """Busy CPU seconds so far of each core ("0", "1", ...), counting steal, not idle or iowait."""
    busy = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name != "cpu":
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in values[:8])
            busy[name[3:]] = (user + nice + system + irq + softirq + steal) / TICKS
    return busy
