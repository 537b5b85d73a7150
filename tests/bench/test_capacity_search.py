"""The capacity search: where it starts, how it grows and narrows, and when it stops early."""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace
from typing import Any

from bench.__main__ import grow, search_capacity

ARGS = argparse.Namespace(sessions=100, max_sessions=800)


def _bench_with_fixed_phase(cpu: float) -> Any:
    """A run whose fixed load (100 sessions) passed using `cpu` of the core."""
    fixed = {"variant": "uvicorn-nodeflate", "frame_ms": 100, "sessions": 100, "ok": True}
    fixed["app_cpu_util"] = cpu
    return SimpleNamespace(phases=[fixed])


class Server:
    """Holds up to `capacity` sessions; remembers the loads it was asked for. With `cpu_each`,
    each session takes that share of the core, above `cpu_base`, as the step's result says."""

    def __init__(self, capacity: int, cpu_each: float | None = None, cpu_base: float = 0.0) -> None:
        self.capacity = capacity
        self.cpu_each = cpu_each
        self.cpu_base = cpu_base
        self.asked: list[int] = []

    def measure(self, sessions: int) -> dict[str, Any]:
        self.asked.append(sessions)
        result: dict[str, Any] = {"ok": sessions <= self.capacity}
        if self.cpu_each is not None:
            result["app_cpu_util"] = self.cpu_base + sessions * self.cpu_each
        return result


def _search(server: Server, cpu: float = 0.25, deadline: float | None = None) -> dict[str, Any]:
    bench = _bench_with_fixed_phase(cpu)
    until = time.monotonic() + 60 if deadline is None else deadline
    return search_capacity(bench, "uvicorn-nodeflate", 100, ARGS, until, server.measure)


def test_the_search_starts_where_the_core_would_fill_grows_then_halves_the_gap() -> None:
    server = Server(capacity=612)

    # A quarter of the core at 100 sessions: in proportion, 400 would fill it.
    found = _search(server, cpu=0.25)

    assert server.asked == [400, 600, 800, 700, 650]
    assert found["sessions"] == 600
    assert found["first_failure"] == 650
    assert found["lower_bound"] is False
    assert found["tried"] == [(100, True), (400, True), (600, True), (650, False), (700, False), (800, False)]


def test_a_search_that_never_fails_stops_at_the_most_sessions_as_a_lower_bound() -> None:
    server = Server(capacity=10_000)

    found = _search(server, cpu=0.1)

    assert server.asked[-1] == ARGS.max_sessions
    assert found["sessions"] == ARGS.max_sessions
    assert found["lower_bound"] is True


def test_a_search_past_its_deadline_measures_nothing_more_and_reports_a_lower_bound() -> None:
    server = Server(capacity=612)

    found = _search(server, deadline=time.monotonic() - 1)

    assert server.asked == []
    assert found["sessions"] == 100
    assert found["lower_bound"] is True


def test_a_server_that_fails_the_first_step_is_searched_below_it() -> None:
    server = Server(capacity=260)

    found = _search(server)

    assert server.asked[0] == 400
    assert found["sessions"] == 250
    assert found["first_failure"] == 275


def test_growth_is_half_more_at_most_and_less_where_the_core_would_fill() -> None:
    assert grow(400, None) == 600
    assert grow(400, 0.5) == 600  # 0.95 of the core would be 760 sessions: half more is less
    assert grow(500, 0.7) == 675  # scaled in proportion, 0.95 of the core would be 679 sessions


def test_growth_follows_the_cpu_along_the_line_through_the_last_two_steps() -> None:
    # From 400 to 600 sessions the CPU rose by 0.2: 0.95 of the core is 200 sessions further.
    assert grow(600, 0.75, below=(400, 0.55)) == 800
    # A CPU that did not rise says nothing of where it fills: scaled in proportion (760).
    assert grow(600, 0.75, below=(400, 0.75)) == 750


def test_near_the_cores_limit_growth_is_still_a_tenth() -> None:
    assert grow(600, 0.93, below=(500, 0.85)) == 650  # the line says 625: a finer step than runs agree
    assert grow(600, 0.97) == 650  # already past 0.95


def test_near_the_cores_limit_the_search_steps_up_by_what_the_cpu_leaves() -> None:
    # 0.1 of the core, and 0.0015 more per session: 0.25 at the fixed load, 0.95 at 567 sessions.
    server = Server(capacity=610, cpu_each=0.0015, cpu_base=0.1)

    found = _search(server, cpu=0.25)

    # In proportion the core would fill at 400 sessions, where it is 0.7 busy. The line through
    # 100 and 400 reaches 0.95 at 567: 575, less than half more. Past 0.95, a tenth more is 625.
    assert server.asked == [400, 575, 625]
    assert found["sessions"] == 575
    assert found["first_failure"] == 625


def test_the_search_stops_when_the_gap_is_a_tenth_of_the_capacity_found() -> None:
    server = Server(capacity=740)

    found = _search(server)

    # 700 passed and 750 failed: 725 would be a step finer than runs agree (a tenth of 700).
    assert server.asked == [400, 600, 800, 700, 750]
    assert found["sessions"] == 700
    assert found["first_failure"] == 750
    assert found["lower_bound"] is False
