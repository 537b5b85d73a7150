"""What storing turns costs, measured in alternating pairs at one load.

The two capacity searches (persistence on and off) run minutes apart, and this machine's speed
drifts by up to a third within a run, so the difference of their results is mostly drift. Here
the two servers run back to back at the same load, below both capacities, alternating which goes
first; in each pair, the share of the server's CPU that persistence adds is what it costs in
capacity when the CPU is what runs out (sessions held = the core / CPU per session).
"""

from __future__ import annotations

from statistics import median
from typing import Any

from bench.runner import STEP, Bench

ON, OFF = "uvicorn-nodeflate+turns", "uvicorn-nodeflate+turns-nopersist"
# The pairs measured: full turns every 2 s (a stress rate), and every 6 s (brisk speech); and
# how many of each. Single pairs differ by several points (the machine's speed drifts from phase
# to phase), so the set whose cost lies near the target takes more.
SETS = (
    (ON, OFF, 5),
    ("uvicorn-nodeflate+slow-turns", "uvicorn-nodeflate+slow-turns-nopersist", 3),
)
PAIRS = 3
# Below both capacities, so neither server is saturated (a saturated core hides CPU differences).
LOAD_SHARE = 0.75


def paired_load(capacity: dict[str, dict[str, Any]]) -> int | None:
    """Sessions for the pairs: LOAD_SHARE of the lower of the two capacities, in whole steps."""
    on, off = capacity.get(ON), capacity.get(OFF)
    if not on or not off or not on["sessions"] or not off["sessions"]:
        return None
    held = min(on["sessions"], off["sessions"])
    return max(STEP, round(held * LOAD_SHARE / STEP) * STEP)


def measure_all(bench: Bench, sessions: int) -> list[dict[str, Any]]:
    """Every set of SETS at `sessions`."""
    return [measure(bench, sessions, on, off, pairs) for on, off, pairs in SETS]


def measure(bench: Bench, sessions: int, on: str, off: str, pairs: int = PAIRS) -> dict[str, Any]:
    """`pairs` pairs of phases at `sessions`, 100 ms frames; the first of each pair alternates."""
    rows = []
    for i in range(pairs):
        order = (on, off) if i % 2 == 0 else (off, on)
        got: dict[str, dict[str, Any]] = {}
        for name in order:
            phase = bench.measure(name, sessions, 100)
            phase["paired"] = True  # kept out of the fixed-load tables and the capacity chart
            got[name] = phase
        rows.append(_row(order[0], got[on], got[off]))
    return {"on": on, "off": off, "sessions": sessions, "pairs": rows, **summarize(rows)}


def _row(first: str, on: dict[str, Any], off: dict[str, Any]) -> dict[str, Any]:
    return {
        "first": first,
        "cpu_on": on.get("app_cpu_util"),
        "cpu_off": off.get("app_cpu_util"),
        "main_on": on.get("app_main_thread_util"),
        "main_off": off.get("app_main_thread_util"),
        "others_on": on.get("app_other_threads_util"),
        "others_off": off.get("app_other_threads_util"),
        "ok_on": on["ok"],
        "ok_off": off["ok"],
        "p99_on": on.get("added_p99_ms"),
        "p99_off": off.get("added_p99_ms"),
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each pair's cost (1 - CPU off / CPU on) and their median; whether every phase passed.

    The cost splits by thread, as shares of the CPU with persistence on: what the threads beside
    the event loop (the database thread, chiefly) took more, and what the event loop took more.
    The first is the writes themselves, and varies little; the second, near zero unless handing
    writes over costs the audio, carries the machine's noise from phase to phase.
    """
    costs = [1 - r["cpu_off"] / r["cpu_on"] for r in rows if r.get("cpu_on") and r.get("cpu_off")]
    threads = [
        r for r in rows if r.get("cpu_on") and r.get("main_on") is not None and r.get("main_off") is not None
    ]
    others = [(r["others_on"] - r["others_off"]) / r["cpu_on"] for r in threads]
    main = [(r["main_on"] - r["main_off"]) / r["cpu_on"] for r in threads]
    return {
        "costs": costs,
        "cost": median(costs) if costs else None,
        "other_threads_cost": median(others) if others else None,
        "main_thread_cost": median(main) if main else None,
        "all_ok": bool(rows) and all(r["ok_on"] and r["ok_off"] for r in rows),
    }
