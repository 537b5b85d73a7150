"""The persistence pairs: their load, their order, their cost, and how the report judges them."""

from __future__ import annotations

from typing import Any

import pytest

from bench import persistence, report
from bench.persistence import OFF, ON


def _capacity(on: int, off: int) -> dict[str, dict[str, Any]]:
    return {
        name: {"variant": name, "sessions": n, "first_failure": n + 25, "lower_bound": False}
        for name, n in ((ON, on), (OFF, off))
    }


def test_the_pairs_run_at_three_quarters_of_the_lower_capacity_in_whole_steps() -> None:
    assert persistence.paired_load(_capacity(500, 450)) == 350  # 337.5 rounds to 14 steps
    assert persistence.paired_load(_capacity(600, 625)) == 450
    assert persistence.paired_load(_capacity(25, 25)) == 25


def test_no_pairs_without_both_capacities() -> None:
    assert persistence.paired_load({ON: _capacity(500, 450)[ON]}) is None
    assert persistence.paired_load(_capacity(0, 450)) is None


class RecordingBench:
    """Answers every phase with the CPU given for its variant, in turn."""

    def __init__(self, cpu: dict[str, list[float]], failing: frozenset[int] = frozenset()) -> None:
        self.cpu = {name: iter(values) for name, values in cpu.items()}
        self.calls: list[tuple[str, int, int]] = []
        self.failing = failing

    def measure(self, name: str, sessions: int, frame_ms: int) -> dict[str, Any]:
        self.calls.append((name, sessions, frame_ms))
        ok = len(self.calls) not in self.failing
        return {"variant": name, "app_cpu_util": next(self.cpu[name]), "ok": ok, "added_p99_ms": 3.0}


def test_the_pairs_alternate_which_server_goes_first_and_give_the_median_cost() -> None:
    bench = RecordingBench({ON: [0.50, 0.60, 0.40], OFF: [0.45, 0.48, 0.38]})

    result = persistence.measure(bench, 300, ON, OFF)  # type: ignore[arg-type]

    assert [name for name, _, _ in bench.calls] == [ON, OFF, OFF, ON, ON, OFF]
    assert {(n, f) for _, n, f in bench.calls} == {(300, 100)}
    assert result["costs"] == pytest.approx([0.10, 0.20, 0.05])
    assert result["cost"] == pytest.approx(0.10)
    assert result["all_ok"] is True


def test_a_failed_phase_in_the_pairs_is_reported() -> None:
    bench = RecordingBench({ON: [0.5] * 3, OFF: [0.5] * 3}, failing=frozenset({4}))

    result = persistence.measure(bench, 300, ON, OFF)  # type: ignore[arg-type]

    assert result["all_ok"] is False


def test_every_set_is_measured_at_the_same_load_each_against_its_own_persistence_off() -> None:
    names = [name for on, off, _ in persistence.SETS for name in (on, off)]
    bench = RecordingBench({name: [0.5] * 5 for name in names})

    results = persistence.measure_all(bench, 350)  # type: ignore[arg-type]

    assert [(r["on"], r["off"], r["sessions"], len(r["pairs"])) for r in results] == [
        (on, off, 350, pairs) for on, off, pairs in persistence.SETS
    ]
    assert {name for name, _, _ in bench.calls} == set(names)


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
    (on_slow, off_slow, _) = persistence.SETS[1]
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
