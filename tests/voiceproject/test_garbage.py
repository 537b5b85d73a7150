"""The worker's garbage-collector settings, checked in fresh processes (they are process-wide)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_REPORT = """
import gc
young = len(gc.get_objects(0))
import json
print(json.dumps({"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count(), "young": young}))
"""


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    cleared = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "WORKER_GC_THRESHOLD")
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**cleared, "ENV_FILE": os.devnull, "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _report(code: str, **env: str) -> dict[str, object]:
    result = _python(f"{code}\n{_REPORT}", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_tuning_freezes_what_exists_and_raises_only_the_young_threshold() -> None:
    before = _report("import gc")
    after = _report("import gc\nfrom voiceproject.garbage import tune_for_worker\ntune_for_worker(12_345)")

    assert after["threshold"] == [12_345, *before["threshold"][1:]]
    assert after["frozen"] > 1000
    assert after["young"] < 100  # everything start-up made is frozen, none left to scan


def test_tuning_collects_start_up_garbage_before_freezing() -> None:
    code = (
        "import gc, weakref\n"
        "from voiceproject.garbage import tune_for_worker\n"
        "class Node: pass\n"
        "gc.disable()\n"
        "a, b = Node(), Node()\n"
        "a.other, b.other = b, a\n"
        "gone = weakref.ref(a)\n"
        "del a, b\n"
        "tune_for_worker(50_000)\n"
        "assert gone() is None, 'a garbage cycle was frozen'"
    )
    result = _python(code)

    assert result.returncode == 0, result.stderr


def test_the_asgi_application_tunes_the_collector_from_the_setting() -> None:
    report = _report("import voiceproject.asgi", WORKER_GC_THRESHOLD="20000")

    assert report["threshold"][0] == 20_000
    assert report["frozen"] > 10_000  # Django and the app, frozen at start-up


def test_the_default_threshold_is_fifty_thousand() -> None:
    assert _report("import voiceproject.asgi")["threshold"][0] == 50_000


def test_a_threshold_below_pythons_default_is_refused_at_start_up() -> None:
    result = _python("import voiceproject.asgi", WORKER_GC_THRESHOLD="10")

    assert result.returncode == 1
    assert result.stderr == (
        "Configuration error: WORKER_GC_THRESHOLD must be 0 (Python's default) or between 700 and 1000000.\n"
    )


def test_a_threshold_of_zero_leaves_pythons_collector_alone() -> None:
    before = _report("import gc")
    after = _report("import voiceproject.asgi", WORKER_GC_THRESHOLD="0")

    assert after["threshold"] == before["threshold"]
    assert after["frozen"] == 0
