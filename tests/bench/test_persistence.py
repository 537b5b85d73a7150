"""The persistence pairs: their load, their order, their cost, and how the report judges them."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from bench import persistence, report
from bench.persistence import OFF, ON
from bench.plan import FULL_PERSISTENCE_SETS, PERSISTENCE_SETS


def _capacity(on: int, off: int) -> dict[str, dict[str, Any]]:
    return {
        name: {"variant": name, "sessions": n, "first_failure": n + 25, "lower_bound": False}
        for name, n in ((ON, on), (OFF, off))
    }


def test_the_pairs_run_at_three_fifths_of_the_capacity_with_persistence_on_in_whole_steps() -> None:
    assert persistence.paired_load({ON: _capacity(450, 0)[ON]}) == 275  # 270 rounds to 11 steps
    assert persistence.paired_load({ON: _capacity(25, 0)[ON]}) == 25


def test_where_persistence_off_was_searched_too_the_pairs_take_the_lower_capacity() -> None:
    assert persistence.paired_load(_capacity(500, 450)) == 275
    assert persistence.paired_load(_capacity(600, 625)) == 350


def test_no_pairs_without_a_capacity_with_persistence_on() -> None:
    assert persistence.paired_load({OFF: _capacity(500, 450)[OFF]}) is None
    assert persistence.paired_load({}) is None
    assert persistence.paired_load(_capacity(0, 450)) is None


class FakeStairs:
    """Stands in for a Staircase: answers each step with the CPU given for its variant, in turn,
    and records every step it is asked for (in `log`, shared by both servers)."""

    cpu: dict[str, Any] = {}
    log: list[tuple[str, int, float]] = []
    failing: frozenset[int] = frozenset()
    together = threading.Barrier(2)

    def __init__(
        self, bench: Any, name: str, frame_ms: int, baseline: int, settle_after_failure: bool = True
    ) -> None:
        assert settle_after_failure is False  # pausing one side would change the other's window
        self.name, self.baseline = name, baseline
        self.started = False

    def __enter__(self) -> FakeStairs:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def start(self) -> None:
        self.started = True

    def step_once(self, sessions: int) -> dict[str, Any]:
        assert self.started
        # Each step waits for the other server's: they run at the same time, or this times out.
        FakeStairs.together.wait(timeout=5)
        FakeStairs.log.append((self.name, sessions, time.monotonic()))
        ok = len([e for e in FakeStairs.log if e[0] == self.name]) not in FakeStairs.failing
        cpu = next(FakeStairs.cpu[self.name])
        return {
            "variant": self.name,
            "app_cpu_util": cpu,
            "load_cpu_util": 0.2,
            "foreign_app_core_util": 0.55 - cpu if self.name == ON else 0.0,  # the other server's
            "foreign_load_core_util": 0.2,  # the other clients'
            "ok": ok,
            "added_p99_ms": 3.0,
            "frames_lost": 0 if ok else 1,
            "frames_measured": 100,
            "connect_failure_count": 0,
            "server_error_count": 0,
            "send_errors": 0,
        }


class DirectBench:
    def __init__(self) -> None:
        self.directs: list[tuple[int, int]] = []

    def direct(self, sessions: int, frame_ms: int) -> dict[str, Any]:
        self.directs.append((sessions, frame_ms))
        return {}


@pytest.fixture
def stairs(monkeypatch: pytest.MonkeyPatch) -> type[FakeStairs]:
    monkeypatch.setattr(persistence, "Staircase", FakeStairs)
    FakeStairs.log, FakeStairs.failing, FakeStairs.together = [], frozenset(), threading.Barrier(2)
    return FakeStairs


def test_both_servers_run_at_once_each_with_half_the_load_and_the_first_step_does_not_count(
    stairs: type[FakeStairs],
) -> None:
    stairs.cpu = {ON: iter([0.9, 0.40, 0.45, 0.30]), OFF: iter([0.1, 0.36, 0.36, 0.285])}
    bench = DirectBench()

    result = persistence.measure(bench, 300, ON, OFF, pairs=3, baseline=100)  # type: ignore[arg-type]

    assert bench.directs == [(100, 100)]
    assert sorted((name, n) for name, n, _ in stairs.log) == sorted([(ON, 150), (OFF, 150)] * 4)
    assert result["sessions"] == 300
    assert result["side_by_side"] is True
    assert result["costs"] == pytest.approx([0.10, 0.20, 0.05])  # the settling step left out
    assert result["cost"] == pytest.approx(0.10)
    assert result["all_ok"] is True


def test_the_other_server_and_its_clients_do_not_count_as_a_disturbance(
    stairs: type[FakeStairs], monkeypatch: pytest.MonkeyPatch
) -> None:
    stairs.cpu = {ON: iter([0.5] * 2), OFF: iter([0.05] * 2)}
    phases: list[dict[str, Any]] = []
    real_discount = persistence._discount

    def kept(phase: dict[str, Any], other: dict[str, Any]) -> None:
        real_discount(phase, other)
        phases.append(phase)

    monkeypatch.setattr(persistence, "_discount", kept)
    persistence.measure(DirectBench(), 300, ON, OFF, pairs=1)  # type: ignore[arg-type]

    assert phases
    for phase in phases:
        assert phase["foreign_app_core_util"] == pytest.approx(0.0)
        assert phase["foreign_load_core_util"] == pytest.approx(0.0)
        assert phase["disturbed"] is False
        assert phase["paired"] is True


def test_a_failed_phase_in_the_pairs_is_reported(stairs: type[FakeStairs]) -> None:
    stairs.cpu = {ON: iter([0.5] * 4), OFF: iter([0.5] * 4)}
    stairs.failing = frozenset({3})

    result = persistence.measure(DirectBench(), 300, ON, OFF, pairs=3)  # type: ignore[arg-type]

    assert result["all_ok"] is False


def test_every_set_is_measured_at_the_same_load_each_against_its_own_persistence_off(
    stairs: type[FakeStairs],
) -> None:
    sets = PERSISTENCE_SETS + FULL_PERSISTENCE_SETS
    names = [name for on, off, _ in sets for name in (on, off)]
    stairs.cpu = {name: iter([0.5] * 10) for name in names}

    results = persistence.measure_all(DirectBench(), 350, 100, sets)  # type: ignore[arg-type]

    assert [(r["on"], r["off"], r["sessions"], len(r["pairs"])) for r in results] == [
        (on, off, 350, pairs) for on, off, pairs in sets
    ]
    assert {name for name, _, _ in stairs.log} == set(names)


def _results(paired: dict[str, Any]) -> dict[str, Any]:
    return {
        "settings": {"sessions": 100},
        "phases": [],
        "capacity": _capacity(625, 450),
        "persistence": [{"on": ON, "off": OFF, **paired}],
    }


def _persistence_row(results: dict[str, Any]) -> str:
    return next(row for row in report.targets_section(results) if "persistence costs" in row)


def test_the_report_judges_persistence_by_the_median_pair_not_by_the_drifting_searches() -> None:
    rows = [{"cpu_on": 0.5, "cpu_off": 0.47, "ok_on": True, "ok_off": True}] * 3
    row = _persistence_row(_results({"sessions": 325, "pairs": rows, **persistence.summarize(rows)}))

    assert "6.0% of the server's CPU at 325 sessions" in row
    assert "625 vs 450" in row
    assert row.endswith("| yes |")


def test_the_report_fails_the_target_when_storing_takes_over_a_tenth_or_a_phase_failed() -> None:
    costly = [{"cpu_on": 0.5, "cpu_off": 0.4, "ok_on": True, "ok_off": True}] * 3
    failed = [{"cpu_on": 0.5, "cpu_off": 0.5, "ok_on": True, "ok_off": False}] * 3

    for rows in (costly, failed):
        row = _persistence_row(_results({"sessions": 325, "pairs": rows, **persistence.summarize(rows)}))
        assert row.endswith("| no |")


def test_the_report_gives_each_turn_rate_its_own_row() -> None:
    cheap = [{"cpu_on": 0.5, "cpu_off": 0.48, "ok_on": True, "ok_off": True}] * 3
    costly = [{"cpu_on": 0.5, "cpu_off": 0.4, "ok_on": True, "ok_off": True}] * 3
    (on_slow, off_slow, _) = FULL_PERSISTENCE_SETS[0]
    results = _results({"sessions": 350, "pairs": costly, **persistence.summarize(costly)})
    results["persistence"].append(
        {"on": on_slow, "off": off_slow, "sessions": 350, "pairs": cheap, **persistence.summarize(cheap)}
    )

    rows = [row for row in report.targets_section(results) if "persistence costs" in row]

    assert len(rows) == 2
    assert "every 2 s" in rows[0]
    assert rows[0].endswith("| no |")
    assert "every 6 s" in rows[1]
    assert "4.0% of the server's CPU" in rows[1]
    assert rows[1].endswith("| yes |")


def test_the_cost_splits_into_what_the_database_thread_and_the_event_loop_took_more() -> None:
    def row(main_on: float, others_on: float, main_off: float) -> dict[str, Any]:
        return {
            "cpu_on": main_on + others_on,
            "cpu_off": main_off,
            "main_on": main_on,
            "others_on": others_on,
            "main_off": main_off,
            "others_off": 0.0,
            "ok_on": True,
            "ok_off": True,
        }

    rows = [row(0.45, 0.05, 0.45), row(0.46, 0.04, 0.44), row(0.44, 0.06, 0.45)]
    result = persistence.summarize(rows)

    assert result["other_threads_cost"] == pytest.approx(0.10)  # 0.05 of 0.5, the median
    assert result["main_thread_cost"] == pytest.approx(0.0)
    row_text = _persistence_row(_results({"sessions": 325, "pairs": rows, **result}))
    assert "the database thread 10%, the event loop 0% (medians)" in row_text


def test_pairs_measured_before_threads_were_timed_still_give_a_cost() -> None:
    rows = [{"cpu_on": 0.5, "cpu_off": 0.47, "ok_on": True, "ok_off": True}] * 3

    result = persistence.summarize(rows)

    assert result["cost"] == pytest.approx(0.06)
    assert result["other_threads_cost"] is None
    assert "database thread" not in _persistence_row(_results({"sessions": 325, "pairs": rows, **result}))


def test_a_median_just_over_the_target_is_shown_to_a_tenth_of_a_point_and_not_met() -> None:
    rows = [{"cpu_on": 0.5, "cpu_off": 0.448, "ok_on": True, "ok_off": True}] * 3

    row = _persistence_row(_results({"sessions": 400, "pairs": rows, **persistence.summarize(rows)}))

    assert "10.4% of the server's CPU" in row
    assert row.endswith("| no |")


def test_a_median_near_the_target_says_another_run_may_fall_on_either_side() -> None:
    rows = [
        {"cpu_on": 0.5, "cpu_off": off, "ok_on": True, "ok_off": True, "p99_on": 4.0, "p99_off": 3.0}
        for off in (0.47, 0.455, 0.44)
    ]
    results = _results({"sessions": 400, "pairs": rows, **persistence.summarize(rows)})

    text = " ".join(report._paired_lines(results))

    assert "storing took 9.0% of the server's CPU" in text
    assert "single pairs took 6% to 12%, so another run may fall on either side of it" in text


def _side_by_side(on: dict[str, Any], off: dict[str, Any]) -> dict[str, Any]:
    base = {"frames_lost": 0, "connect_failure_count": 0, "server_error_count": 0, "send_errors": 0}
    base["frames_measured"] = 100
    return persistence._row({**base, "ok": False, **on}, {**base, "ok": False, **off})


def test_side_by_side_a_tail_over_the_threshold_does_not_spoil_a_pair_but_a_lost_frame_does() -> None:
    slow_tail = _side_by_side({"app_cpu_util": 0.4}, {"app_cpu_util": 0.36})  # "ok" False: p99 over
    lost = _side_by_side({"app_cpu_util": 0.4, "frames_lost": 3}, {"app_cpu_util": 0.36})

    assert persistence.summarize([slow_tail] * 3)["all_ok"] is True
    assert persistence.summarize([slow_tail, lost, slow_tail])["all_ok"] is False


def test_side_by_side_a_pair_that_kept_the_core_over_nine_tenths_busy_is_not_usable() -> None:
    saturated = _side_by_side({"app_cpu_util": 0.5}, {"app_cpu_util": 0.45})
    rows = [saturated, _side_by_side({"app_cpu_util": 0.4}, {"app_cpu_util": 0.36})]
    paired = {"sessions": 400, "side_by_side": True, "pairs": rows, **persistence.summarize(rows)}

    row = _persistence_row(_results(paired))

    assert paired["all_ok"] is False
    assert "400 sessions (200 on each server)" in row
    assert "a pair was not usable: the core 95% busy" in row
    assert row.endswith("| no |")
