"""The report's account of a run that took more than a few minutes."""

from __future__ import annotations

from typing import Any

from bench import report


def _results(minutes: float, quick: bool = False) -> dict[str, Any]:
    fixed = {"variant": "uvicorn-nodeflate", "measured_s": 8.0}
    pair = {"variant": "uvicorn-nodeflate+turns", "measured_s": 4.0, "side_by_side": True}
    return {
        "duration_s": minutes * 60,
        "settings": {"quick": quick},
        "phases": [fixed, fixed, *[pair] * 24],  # 12 pairs of two servers
    }


def test_a_long_run_says_how_much_of_it_was_streaming_counting_each_pair_once() -> None:
    lines = report._run_time_lines(_results(9.0))

    # Two fixed phases of 1 + 8 s, 12 pairs of 1 + 4 s: 78 s.
    assert lines[0].startswith("- **The run took 9.0 minutes, not a few.**")
    assert "took 1.3 of them" in lines[1]


def test_a_run_of_a_few_minutes_or_a_quick_one_needs_no_account() -> None:
    assert report._run_time_lines(_results(4.5)) == []
    assert report._run_time_lines(_results(9.0, quick=True)) == []
