"""The report's account of a run that took more than a few minutes."""

from __future__ import annotations

from typing import Any

from bench import report


def _results(minutes: float, quick: bool = False) -> dict[str, Any]:
    fixed = {"variant": "uvicorn-nodeflate", "measured_s": 8.0}
    pair = {"variant": "uvicorn-nodeflate+turns", "measured_s": 4.0, "side_by_side": True}
    return {
        "duration_s": minutes * 60,
        "settings": {"quick": quick, "fixed_seconds": 8.0, "seconds": 3.0},
        "phases": [fixed, fixed, *[pair] * 24],  # 12 pairs of two servers
    }


def test_a_long_run_says_how_much_of_it_was_streaming_counting_each_pair_once() -> None:
    lines = report._run_time_lines(_results(9.0))

    # Two fixed phases of 1 + 8 s, 12 pairs of 1 + 4 s: 78 s.
    assert lines[0].startswith("- **The run took 9.0 minutes, not a few.**")
    assert "took 1.3 of them" in lines[1]
    assert "8 s windows" in lines[2]
    assert "profiles" not in " ".join(lines)  # this run had none


def test_a_run_of_a_few_minutes_or_a_quick_one_needs_no_account() -> None:
    assert report._run_time_lines(_results(4.5)) == []
    assert report._run_time_lines(_results(9.0, quick=True)) == []


def test_a_full_run_says_how_long_its_extra_phases_took_and_what_make_bench_takes() -> None:
    phases = [
        {"variant": "uvicorn-nodeflate", "finished_at_s": 100.0},
        {"variant": "uvicorn-nodeflate-asyncio", "finished_at_s": 112.0},  # full only: 12 s
        {"variant": "uvicorn-nodeflate+turns", "finished_at_s": 400.0},
        {"variant": "uvicorn-nodeflate+turns", "gc": True, "finished_at_s": 436.0},  # 36 s
        {"variant": "daphne", "profiled": True, "finished_at_s": 448.0},  # 12 s
    ]
    results = {"duration_s": 450.0, "settings": {"full": True}, "phases": phases}

    lines = report._run_time_lines(results)

    assert lines[0].startswith("- **The run took 7.5 minutes**, 1.0 of them in what only")
    assert "`make bench` takes about 6.5 here." in lines[2]


def test_the_machine_section_gives_the_20_ms_window_where_it_differs() -> None:
    results = {
        "settings": {"fixed_seconds": 8.0, "seconds": 3.0},
        "phases": [
            {"variant": "daphne", "frame_ms": 100, "measured_s": 8.02},
            {"variant": "daphne", "frame_ms": 20, "measured_s": 4.01},
        ],
    }

    assert report._window_20ms_text(results) == " (4 s at 20 ms frames, five times as many a second)"
    results["phases"][1]["measured_s"] = 8.0
    assert report._window_20ms_text(results) == ""


def test_the_streaming_account_takes_each_phases_own_warm_up() -> None:
    results = _results(9.0)
    for phase in results["phases"][2:]:
        phase["warmup_s"] = 0.5  # the pairs' steps: half a second

    # Two fixed phases of 1 + 8 s, 12 pairs of 0.5 + 4 s: 72 s.
    assert "took 1.2 of them" in report._run_time_lines(results)[1]


def test_the_machine_section_gives_the_steps_warm_up_where_it_differs() -> None:
    results = {
        "phases": [
            {"variant": "daphne", "warmup_s": 1.0},
            {"variant": "daphne", "warmup_s": 0.5, "stepped": True},
        ]
    }
    old = {"phases": [{"variant": "daphne"}, {"variant": "daphne", "stepped": True}]}

    assert report._warmups_text(results) == ("after 1 s of warm-up (0.5 s in the capacity steps and pairs)")
    assert report._warmups_text(old) == "after 1 s of warm-up"  # results.json before warmup_s


def _paired(on: str, off: str, pairs: int) -> dict[str, Any]:
    return {"on": on, "off": off, "cost": 0.05, "pairs": [{}] * pairs}


def test_the_method_says_which_pairs_ran_and_what_the_full_run_adds() -> None:
    every_2_s = _paired("uvicorn-nodeflate+turns", "uvicorn-nodeflate+turns-nopersist", 5)
    every_6_s = _paired("uvicorn-nodeflate+slow-turns", "uvicorn-nodeflate+slow-turns-nopersist", 3)
    settings = {"seconds": 3.0, "pair_seconds": 4.0}

    default = report._pair_sets_text({"settings": settings, "persistence": [every_2_s]})
    full = report._pair_sets_text({"settings": settings, "persistence": [every_2_s, every_6_s]})

    assert default.startswith("Five pairs (4 s windows of both,")
    assert "with a full turn every 2 s; `make bench-full` adds pairs with a full turn every 6 s" in default
    assert "with a full turn every 2 s, then three more with a full turn every 6 s (6 s:" in full
    assert "make bench-full" not in full
