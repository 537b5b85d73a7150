"""The collector comparison: measured back to back at the pairs' load, and read by the report."""

from __future__ import annotations

from typing import Any

from bench import report
from bench.__main__ import GC_VARIANTS, compare_gc


class PhaseBench:
    """Records each phase with the window it was measured over."""

    def __init__(self) -> None:
        self.seconds = 4.0
        self.phases: list[dict[str, Any]] = []

    def direct(self, sessions: int, frame_ms: int) -> dict[str, Any]:
        return {"variant": "direct", "sessions": sessions}

    def phase(self, variant: Any, sessions: int, frame_ms: int, baseline: dict[str, Any]) -> dict[str, Any]:
        result = {
            "variant": variant.name,
            "sessions": sessions,
            "frame_ms": frame_ms,
            "seconds": self.seconds,
            "baseline_sessions": baseline["sessions"],
        }
        self.phases.append(result)
        return result


def test_both_settings_are_measured_at_the_given_load_over_the_fixed_window_and_marked() -> None:
    bench = PhaseBench()

    compare_gc(bench, 200, 8.0, baseline=100)  # type: ignore[arg-type]

    assert [(p["variant"], p["sessions"], p["seconds"], p["gc"]) for p in bench.phases] == [
        (name, 200, 8.0, True) for name in GC_VARIANTS
    ]
    # Against the direct phase of the fixed load, which the run has already measured.
    assert {p["baseline_sessions"] for p in bench.phases} == {100}
    assert bench.seconds == 4.0


def _phase(variant: str, p99: float, **marks: Any) -> dict[str, Any]:
    return {
        "variant": variant,
        "sessions": 200,
        "frame_ms": 100,
        "added_p50_ms": p99 / 10,
        "added_p99_ms": p99,
        "frames_lost": 0,
        "app_cpu_util": 0.7,
        **marks,
    }


def test_the_report_compares_the_marked_phases_and_keeps_them_out_of_the_tables() -> None:
    capacity_step = _phase("uvicorn-nodeflate+turns", 40.0)  # a search's phase at the same load
    ours = _phase("uvicorn-nodeflate+turns", 8.0, gc=True)
    pythons = _phase("uvicorn-nodeflate+turns-pythongc", 140.0, gc=True)
    results = {"settings": {"sessions": 100, "gc_sessions": 200}, "phases": [capacity_step, ours, pythons]}

    text = report._gc_pair(results)

    assert text.startswith("200 sessions:")
    assert "p99 140.00 → 8.00 ms" in text
    assert report.counted(results) == [capacity_step]
