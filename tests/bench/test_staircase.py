"""A capacity search's steps run on one server, grow and shrink the load, and survive their clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import runner
from bench.runner import Bench
from bench.staircase import Staircase


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    bench = Bench(seconds=1.0, pin=False, out=tmp_path / "results", verbose=False)
    bench.quiet_wait_s = 0.0
    bench.setup(users=12)
    yield bench
    bench.close()


@pytest.mark.timeout(120)
def test_steps_grow_and_shrink_the_load_on_one_server(bench: Bench) -> None:
    with Staircase(bench, "uvicorn-nodeflate", 100, baseline_sessions=2) as stairs:
        up = stairs.step(2)
        server = stairs.server.pid if stairs.server else None
        more = stairs.step(4)
        down = stairs.step(1)
        assert stairs.server is not None
        assert stairs.server.pid == server

    for step, sessions in ((up, 2), (more, 4), (down, 1)):
        assert step["stepped"] is True
        assert step["connected"] == sessions
        assert step["ok"], step
        assert step["frames_lost"] == 0
        assert step["caught_up"] is True  # a load the server keeps up with leaves no backlog
        assert step["frames_measured"] == step["frames_expected"] > 0
        # About a second of 100 ms frames per session: only the window's frames are measured.
        assert 8 * sessions <= step["frames_measured"] <= 12 * sessions
        assert step["baseline_sessions"] == 2
        assert step["direct_p50_ms"] == bench.direct_cache[(2, 100)]["rtt_p50_ms"]
    assert stairs.server is None
    assert stairs.load is None


@pytest.mark.timeout(120)
def test_steps_go_on_with_a_new_server_when_the_clients_die(bench: Bench) -> None:
    with Staircase(bench, "uvicorn-nodeflate", 100, baseline_sessions=2) as stairs:
        stairs.step(2)
        assert stairs.load is not None
        first_server = stairs.server.pid if stairs.server else None
        stairs.load.kill()
        stairs.load.wait()

        after = stairs.step(3)

        assert stairs.server is not None
        assert stairs.server.pid != first_server
    assert after["ok"], after
    assert after["connected"] == 3


@pytest.mark.timeout(120)
def test_a_failed_step_is_followed_by_one_on_a_fresh_server(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Staircase(bench, "uvicorn-nodeflate", 100, baseline_sessions=2) as stairs:
        stairs.step(2)
        first_server = stairs.server.pid if stairs.server else None
        monkeypatch.setattr(runner, "THRESHOLD_MS", -1.0)  # every step is over it

        failed = stairs.step(3)

        assert not failed["ok"]
        assert stairs.server is None
        monkeypatch.undo()
        after = stairs.step(2)
        assert stairs.server is not None
        assert stairs.server.pid != first_server
    assert after["ok"], after


@pytest.mark.timeout(120)
def test_side_by_side_a_failed_step_keeps_its_server(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    stairs = Staircase(bench, "uvicorn-nodeflate", 100, baseline_sessions=2, restart_after_failure=False)
    with stairs:
        stairs.step_once(2)
        server = stairs.server.pid if stairs.server else None
        monkeypatch.setattr(runner, "THRESHOLD_MS", -1.0)

        assert not stairs.step_once(2)["ok"]

        assert stairs.server is not None
        assert stairs.server.pid == server
