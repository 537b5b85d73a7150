"""The benchmark harness runs end to end on a tiny load and produces numbers (no timing asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_it_measures_two_sessions_through_the_app_and_directly(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--variants",
            "uvicorn",
            "--results",
            str(tmp_path / "results"),
            "--doc",
            str(doc),
        ],
        cwd=ROOT,
        check=True,
        timeout=170,
    )

    results = json.loads((tmp_path / "results" / "results.json").read_text())
    phases = {p["variant"]: p for p in results["phases"]}
    assert set(phases) == {"direct", "uvicorn"}
    for phase in phases.values():
        assert phase["connected"] == 2
        assert phase["frames_measured"] > 0
        # Closing the sessions at the end is no error, and every frame came back.
        assert phase["server_error_count"] == 0
        assert phase["frames_lost"] == 0
        assert math.isfinite(phase["rtt_p50_ms"])
    through = phases["uvicorn"]
    assert math.isfinite(through["added_p99_ms"])
    assert through["cpu_s_per_session_min"] >= 0
    # The server's CPU, split by thread: the event loop's and the rest's add up to the process's.
    split = through["app_main_thread_util"] + through["app_other_threads_util"]
    assert split == pytest.approx(through["app_cpu_util"], abs=0.02)
    assert "mib_per_session" in through
    assert "| app, uvicorn |" in doc.read_text()
    assert doc.with_suffix(".png").stat().st_size > 0
    for how in ("each_write", "turn", "sessions", "spread"):
        assert results["writes"][f"queries_per_turn_{how}"] > 0
        assert results["writes"][f"cpu_ms_per_turn_{how}"] > 0
