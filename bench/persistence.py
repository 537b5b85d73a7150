"""What storing turns costs, measured with the two servers side by side at one load.

The two capacity searches (persistence on and off) run minutes apart, and this machine's speed
drifts by up to a third within a run, so the difference of their results is mostly drift. Phases
run back to back (alternating pairs, until 2026-12-02) still differed by up to 20 points from
pair to pair: the machine's speed changes from one phase to the next. Here the server with
persistence and the one without run at the same time on the app's core, each with half the
load and its own clients, so both see the same machine in every window; in each pair, the share
of the server's CPU that persistence adds is what it costs in capacity when the CPU is what runs
out (sessions held = the core / CPU per session).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from statistics import median
from typing import Any

from bench.plan import PERSISTENCE_SETS
from bench.runner import DISTURBED, STEP, Bench
from bench.staircase import Staircase

# Full turns every 2 s: the set every run measures, and whose capacity sets the pairs' load.
ON, OFF, PAIRS = PERSISTENCE_SETS[0]
# Below both capacities, so the core is not saturated (a saturated core hides CPU differences):
# two processes sharing it use more CPU for the same sessions than one, so less than the 3/4 of
# alternating pairs, which had the two servers side by side at 85-95% of the core.
LOAD_SHARE = 0.6
# A pair whose two servers together kept the core busier than this was saturated.
SATURATED = 0.9


def paired_load(capacity: dict[str, dict[str, Any]]) -> int | None:
    """Sessions for the pairs: LOAD_SHARE of the capacity with persistence on, in whole steps
    (of the lower of the two where persistence off was searched too, as before 2026-12-02)."""
    held = [c["sessions"] for c in (capacity.get(ON), capacity.get(OFF)) if c]
    if not held or not capacity.get(ON) or not min(held):
        return None
    return max(STEP, round(min(held) * LOAD_SHARE / STEP) * STEP)


def measure_all(
    bench: Bench, sessions: int, baseline: int, sets: list[tuple[str, str, int]]
) -> list[dict[str, Any]]:
    """Every set (persistence on, off, pairs) at `sessions`; delays against the direct phase at
    `baseline` sessions."""
    return [measure(bench, sessions, on, off, pairs, baseline) for on, off, pairs in sets]


def measure(
    bench: Bench, sessions: int, on: str, off: str, pairs: int = PAIRS, baseline: int = 100
) -> dict[str, Any]:
    """`pairs` pairs at `sessions` in all, 100 ms frames: both servers at once, each with half.

    Each server has its own clients (bench.load_steps), and every pair is one step of both at
    the same time. A first step opens the sessions (the two take different times to connect,
    so their windows would not line up) and is not counted.
    """
    each = max(1, sessions // 2)
    bench.direct(baseline, 100)  # the steps' baseline, measured before the threads share it
    rows = []
    with (
        Staircase(bench, on, 100, baseline, settle_after_failure=False) as with_storing,
        Staircase(bench, off, 100, baseline, settle_after_failure=False) as without,
        ThreadPoolExecutor(2) as pool,
    ):
        with_storing.start()
        without.start()
        for i in range(pairs + 1):
            got_on, got_off = pool.submit(with_storing.step_once, each), pool.submit(without.step_once, each)
            phase_on, phase_off = got_on.result(), got_off.result()
            for phase, other in ((phase_on, phase_off), (phase_off, phase_on)):
                phase.update(paired=True, side_by_side=True, settling=i == 0)
                _discount(phase, other)
            if i > 0:
                rows.append(_row(phase_on, phase_off))
    return {
        "on": on,
        "off": off,
        "sessions": each * 2,
        "side_by_side": True,
        "pairs": rows,
        **summarize(rows),
    }


def _discount(phase: dict[str, Any], other: dict[str, Any]) -> None:
    """Take the other server's CPU, and its clients', out of what other processes took."""
    if "foreign_app_core_util" in phase:
        phase["foreign_app_core_util"] = max(
            0.0, phase["foreign_app_core_util"] - other.get("app_cpu_util", 0.0)
        )
    phase["foreign_load_core_util"] = max(0.0, phase["foreign_load_core_util"] - other["load_cpu_util"])
    foreign = max(phase.get("foreign_app_core_util", 0.0), phase["foreign_load_core_util"])
    phase["disturbed"] = foreign > DISTURBED


def _kept_up(phase: dict[str, Any]) -> bool:
    """Every session connected and no frame lost, no error. Side by side, each server's tail
    is not its own: it waits for the other's time slices on the core, so p99 is not judged."""
    return (
        phase["frames_lost"] == 0
        and phase["connect_failure_count"] == 0
        and phase["server_error_count"] == 0
        and phase["send_errors"] == 0
        and phase["frames_measured"] > 0
    )


def _row(on: dict[str, Any], off: dict[str, Any]) -> dict[str, Any]:
    """One side-by-side pair: both servers' CPU, by thread, whether each kept up, and the core's
    load (results.json's rows of alternating pairs, before 2026-12-02, have no `core_busy`)."""
    return {
        "core_busy": (on.get("app_cpu_util") or 0.0) + (off.get("app_cpu_util") or 0.0),
        "cpu_on": on.get("app_cpu_util"),
        "cpu_off": off.get("app_cpu_util"),
        "main_on": on.get("app_main_thread_util"),
        "main_off": off.get("app_main_thread_util"),
        "others_on": on.get("app_other_threads_util"),
        "others_off": off.get("app_other_threads_util"),
        "ok_on": _kept_up(on),
        "ok_off": _kept_up(off),
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
        "all_ok": bool(rows)
        and all(r["ok_on"] and r["ok_off"] and (r.get("core_busy") or 0.0) <= SATURATED for r in rows),
    }
