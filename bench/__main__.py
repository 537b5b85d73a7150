"""`python -m bench`: the fixed-load phases, the capacity searches and the persistence pairs, then
docs/benchmarks.md; `--full` adds the phases behind the recommendations and a profile.

python -m bench            # every target's evidence (under 5 minutes), as `make bench` does
python -m bench --full     # also deflate, uvloop, aligned turns, the collector, py-spy profiles
python -m bench --quick    # a smoke test: 2 sessions, 2 s per phase, no capacity search
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import persistence, profiling, report
from bench.plan import (
    CAPACITY_VARIANTS,
    FIXED_VARIANTS,
    FULL_PERSISTENCE_SETS,
    FULL_VARIANTS,
    GC_VARIANTS,
    PERSISTENCE_SETS,
    QUICK_VARIANTS,
    WINDOW_SHARE_20MS,
)
from bench.runner import RESULTS, ROOT, STEP, THRESHOLD_MS, VARIANTS, Bench, can_pin
from bench.staircase import Staircase

# A capacity search starts where the fixed load's CPU, scaled in proportion, would fill this
# much of the core. CPU per session falls as sessions grow, so that lands at 60-90% of it (0.8
# until 2026-12-02: 55-80%, a step or two more per search).
START_CPU = 1.0
# It then grows by half, or less: to where the CPU, extrapolated from the last two passed steps,
# would fill this much of the core. Capacities sat at 94-99% of it; a fixed growth overshot by
# several steps near the limit, and 0.9 (until 2026-12-02) crept up to it a step at a time.
GROWTH = 1.5
GROW_CPU = 0.95
# The search stops when the first failing step is at most this share above the last passed
# one (or one step): capacities differ by up to a quarter from run to run, so finer steps
# would be precision the machine does not have, at a minute or so per run.
RESOLUTION = 0.1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 sessions, 2 s phases, no capacity search")
    parser.add_argument(
        "--full",
        action="store_true",
        help="also uvicorn with deflate, the asyncio loop, aligned turns, the collector, profiles",
    )
    parser.add_argument("--sessions", type=int, default=100, help="sessions of the fixed-load table")
    # A step over capacity fails plainly (p99 in the hundreds of ms); 3 s of hundreds of sessions
    # is over 5,000 frames.
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="measured window of the capacity steps and profiles"
    )
    parser.add_argument(
        "--pair-seconds", type=float, default=4.0, help="measured window of the persistence pairs"
    )
    # p99 of the fixed loads is the worst 1% of frames: with 4 s, one pause of the machine is
    # most of that 1%; 8 s weighs pauses by how often they come.
    parser.add_argument(
        "--fixed-seconds", type=float, default=8.0, help="measured window of the fixed-load phases"
    )
    parser.add_argument(
        "--budget-s", type=float, default=550.0, help="the capacity searches' time, shared out evenly"
    )
    parser.add_argument("--max-sessions", type=int, default=800, help="capacity searches stop here")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles")
    parser.add_argument("--variants", default="", help="comma-separated variants of the fixed-load phases")
    parser.add_argument("--quiet-wait-s", type=float, default=5.0, help="wait for other jobs to quieten")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument("--results", type=Path, default=RESULTS, help="raw results and logs")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-doc", action="store_true", help="write results.json only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.quick:
        args.sessions, args.seconds, args.fixed_seconds, args.pair_seconds = 2, 2.0, 2.0, 2.0
    bench = Bench(seconds=args.fixed_seconds, pin=can_pin() and not args.no_pin, out=args.results)
    if not bench.pin:
        bench.log("not pinned: taskset is missing or there is only one core")
    bench.quiet_wait_s = 0.0 if args.quick else args.quiet_wait_s
    bench.setup(users=args.sessions + 10 if args.quick else max(args.sessions, args.max_sessions) + 10)
    capacity: dict[str, dict[str, Any]] = {}
    profiles: list[dict[str, Any]] = []
    writes: dict[str, Any] = {}
    paired: list[dict[str, Any]] = []
    gc_sessions: int | None = None
    try:
        frames = [100] if args.quick else list(FIXED_VARIANTS)
        for frame_ms in frames:
            bench.seconds = args.fixed_seconds * (WINDOW_SHARE_20MS if frame_ms == 20 else 1.0)
            for name in fixed_variants(args, frame_ms):
                bench.measure(name, args.sessions, frame_ms)
        writes = bench.measure_writes(turns=30 if args.quick else 300)
        bench.seconds = args.seconds
        if not args.quick:
            share = args.budget_s / len(CAPACITY_VARIANTS)
            for name in CAPACITY_VARIANTS:
                with Staircase(bench, name, 100, baseline_sessions=args.sessions) as stairs:
                    deadline = time.monotonic() + share
                    capacity[name] = search_capacity(bench, name, 100, args, deadline, stairs.step)
            load = persistence.paired_load(capacity)
            if load is not None:
                bench.seconds = args.pair_seconds
                sets = PERSISTENCE_SETS + (FULL_PERSISTENCE_SETS if args.full else [])
                paired = persistence.measure_all(bench, load, args.sessions, sets)
                bench.seconds = args.seconds
                if args.full and not args.variants:
                    compare_gc(bench, load, args.fixed_seconds, baseline=args.sessions)
                    gc_sessions = load
            if args.full and not args.no_profile:
                profiles = profiling.profile_all(bench, args.sessions)
    finally:
        bench.close()
    results = {
        "command": command(args),
        "argv": shlex.join(sys.argv[1:]),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "duration_s": time.monotonic() - bench.started,
        "machine": machine(bench.pin),
        "settings": {
            "sessions": args.sessions,
            "seconds": args.seconds,
            "pair_seconds": args.pair_seconds,
            "fixed_seconds": args.fixed_seconds,
            "threshold_ms": THRESHOLD_MS,
            "quick": args.quick,
            "full": args.full,
            "gc_sessions": gc_sessions,
        },
        "phases": bench.phases,
        "harness_errors": bench.harness_errors,
        "capacity": capacity,
        "persistence": paired,
        "writes": writes,
        "profiles": profiles,
    }
    (args.results / "results.json").write_text(json.dumps(results, indent=1))
    bench.log(f"results in {args.results / 'results.json'}")
    if not args.no_doc:
        report.write(results, args.doc)
        bench.log(f"wrote {args.doc} and {args.doc.with_suffix('.png')}")
    return 0


def command(args: argparse.Namespace) -> str:
    """The command that reruns this kind of run, for the report."""
    if args.quick:
        return "python -m bench --quick"
    return "make bench-full" if args.full else "make bench"


def fixed_variants(args: argparse.Namespace, frame_ms: int) -> list[str]:
    """The variants of the fixed-load phases at this frame size."""
    if args.variants:
        return list(args.variants.split(","))
    if args.quick:
        return QUICK_VARIANTS
    return FIXED_VARIANTS[frame_ms] + (FULL_VARIANTS[frame_ms] if args.full else [])


def compare_gc(bench: Bench, sessions: int, seconds: float, baseline: int) -> None:
    """The worker's collector settings against Python's, back to back, each phase marked `gc`.

    Measured over the fixed loads' window: Python's full collections come every few seconds.
    Delays are taken against the direct phase at `baseline` sessions, as the capacity steps'
    are: the two are compared with each other, and a direct phase of their own would add one.
    """
    window, bench.seconds = bench.seconds, seconds
    try:
        for name in GC_VARIANTS:
            bench.phase(VARIANTS[name], sessions, 100, bench.direct(baseline, 100))["gc"] = True
    finally:
        bench.seconds = window


def search_capacity(
    bench: Bench,
    name: str,
    frame_ms: int,
    args: argparse.Namespace,
    deadline: float,
    measure: Callable[[int], dict[str, Any]],
) -> dict[str, Any]:
    """The most sessions with p99 added delay at or under the threshold and no lost frame.

    Every phase already measured for the variant counts; `measure` measures it at a new number
    of sessions (a Staircase's step). The first new step is where the fixed load's CPU, scaled
    up, would fill START_CPU of the core; then the search grows (`grow`) until a step fails,
    and halves the gap (in steps of 25 sessions) until it is at most RESOLUTION of the
    capacity found. Stops early, as a bound, when the deadline
    (its share of the time budget) has passed.
    """
    tried: dict[int, bool] = {}
    cpu: dict[int, float] = {}  # the server's share of its core at each load
    fixed = [
        p
        for p in bench.phases
        if p["variant"] == name and p["frame_ms"] == frame_ms and not p.get("superseded")
    ]
    for p in fixed:
        tried[p["sessions"]] = p["ok"]
        if p.get("app_cpu_util"):
            cpu[p["sessions"]] = p["app_cpu_util"]
    n = first_step(fixed, args)
    bounded = False
    while True:
        if n not in tried:
            if time.monotonic() > deadline:
                bounded = True
                break
            result = measure(n)
            tried[n] = result["ok"]
            if result.get("app_cpu_util"):
                cpu[n] = result["app_cpu_util"]
        passed = [k for k, ok in tried.items() if ok]
        failed = [k for k, ok in tried.items() if not ok]
        lo = max(passed, default=0)
        hi = min((k for k in failed if k > lo), default=None)
        if hi is None:
            if lo >= args.max_sessions:
                break
            below = max((k for k in passed if k < lo and k in cpu), default=None)
            n = min(args.max_sessions, grow(lo, cpu.get(lo), (below, cpu[below]) if below else None))
        elif hi - lo <= max(STEP, lo * RESOLUTION):
            break
        else:
            n = lo + max(STEP, round((hi - lo) / 2 / STEP) * STEP)
            if n >= hi:
                break
        if lo == 0 and hi is not None and hi <= STEP:
            break
    passed = [k for k, ok in tried.items() if ok]
    hi = min((k for k, ok in tried.items() if not ok and k > max(passed, default=0)), default=None)
    return {
        "variant": name,
        "frame_ms": frame_ms,
        "sessions": max(passed, default=0),
        "first_failure": hi,
        "lower_bound": bounded or hi is None,
        "tried": sorted(tried.items()),
    }


def grow(sessions: int, cpu: float | None, below: tuple[int, float] | None = None) -> int:
    """The next step up from a passed one: where the step's CPU, extrapolated, would fill
    GROW_CPU of the core; at most GROWTH more sessions, at least RESOLUTION more (one step).

    The CPU is extrapolated along the line through the step and the passed step `below` it
    (sessions, CPU), or scaled in proportion without one. CPU per session falls as sessions
    grow (the event loop handles more per wake-up): scaled in proportion, steps near the core's
    limit crept up a step at a time; along the line they still undershoot a little.
    """
    most = sessions * GROWTH
    if cpu:
        slope = (cpu - below[1]) / (sessions - below[0]) if below and sessions > below[0] else 0.0
        filled = sessions + (GROW_CPU - cpu) / slope if slope > 0 else sessions * GROW_CPU / cpu
        most = min(most, filled)
    least = sessions * (1 + RESOLUTION)
    return max(sessions + STEP, round(max(most, least) / STEP) * STEP)


def first_step(fixed: list[dict[str, Any]], args: argparse.Namespace) -> int:
    """Sessions where the fixed load's CPU, scaled, would fill START_CPU of the core.

    CPU per session falls as sessions grow (the event loop handles more per wake-up), so this
    undershoots a little and the search then grows; without a passed fixed-load phase with its
    CPU measured, the search starts at the fixed load.
    """
    base = next(
        (p for p in fixed if p["sessions"] == args.sessions and p["ok"] and p.get("app_cpu_util")), None
    )
    if base is None:
        return args.sessions
    projected = round(args.sessions * START_CPU / base["app_cpu_util"] / STEP) * STEP
    return max(args.sessions + STEP, min(args.max_sessions, projected))


def machine(pinned: bool) -> dict[str, Any]:
    from bench.procstat import cpu_model

    return {
        "cpu": cpu_model(),
        "cores": len([line for line in open("/proc/cpuinfo") if line.startswith("processor")]),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "pinned": pinned,
        "kernel": platform.release(),
    }


if __name__ == "__main__":
    raise SystemExit(main())
