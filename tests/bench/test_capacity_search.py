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
    each session takes that share of the core, as the step's result says."""

    def __init__(self, capacity: int, cpu_each: float | None = None) -> None:
        self.capacity = capacity
        self.cpu_each = cpu_each
        self.asked: list[int] = []

    def measure(self, sessions: int) -> dict[str, Any]:
        self.asked.append(sessions)
        result: dict[str, Any] = {"ok": sessions <= self.capacity}
        if self.cpu_each is not None:
            result["app_cpu_util"] = sessions * self.cpu_each
        return result


def _search(server: Server, cpu: float = 0.2, deadline: float | None = None) -> dict[str, Any]:
    bench = _bench_with_fixed_phase(cpu)
    until = time.monotonic() + 60 if deadline is None else deadline
    return search_capacity(bench, "uvicorn-nodeflate", 100, ARGS, until, server.measure)


def test_the_search_starts_where_the_core_would_be_four_fifths_full_grows_then_halves_the_gap() -> None:
    server = Server(capacity=612)

    found = _search(server, cpu=0.2)

    assert server.asked == [400, 500, 625, 550, 600]
    assert found["sessions"] == 600
    assert found["first_failure"] == 625
    assert found["lower_bound"] is False
    assert found["tried"] == [(100, True), (400, True), (500, True), (550, True), (600, True), (625, False)]


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

    found = _search(server, cpu=0.2)

    assert server.asked[0] == 400
    assert found["sessions"] == 250
    assert found["first_failure"] == 275


def test_growth_is_a_quarter_more_at_most_and_less_where_the_core_would_fill() -> None:
    assert grow(400, None) == 500
    assert grow(400, 0.5) == 500  # 0.9 of the core would be 720 sessions: a quarter more is less
    assert grow(600, 0.8) == 675  # 0.9 of the core would be 675
    assert grow(600, 0.95) == 625  # already past 0.9: one step more


def test_near_the_cores_limit_the_search_steps_up_by_what_the_cpu_leaves() -> None:
    # 0.0015 of the core per session: 600 sessions fill 0.9 of it, and the server holds 610.
    server = Server(capacity=610, cpu_each=0.0015)

    found = _search(server, cpu=0.2)

    assert server.asked == [400, 500, 600, 625]  # a quarter more than 500 would have been 625
    assert found["sessions"] == 600
    assert found["first_failure"] == 625
