"""A capacity search's steps run on one server, grow and shrink the load, and survive their clients."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import runner, staircase
from bench.runner import Bench
from bench.staircase import SETTLE_LIMIT_S, Staircase


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
def test_a_failed_step_is_followed_by_the_next_on_the_same_server(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Staircase(bench, "uvicorn-nodeflate", 100, baseline_sessions=2) as stairs:
        stairs.step(2)
        server = stairs.server.pid if stairs.server else None
        monkeypatch.setattr(runner, "THRESHOLD_MS", -1.0)  # every step is over it

        failed = stairs.step(3)

        assert not failed["ok"]
        monkeypatch.undo()
        after = stairs.step(2)
        assert stairs.server is not None
        assert stairs.server.pid == server
    # The clients paused until the server was idle: with so few sessions, at once.
    assert failed["settled_s"] < SETTLE_LIMIT_S
    assert after["ok"], after
    assert after["drained_s"] < 1.0  # and nothing was left in flight to wait for
    assert after["connected"] == 2


def test_after_a_failed_step_the_clients_pause_until_the_server_is_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staircase, "SETTLE_LIMIT_S", 1.0)
    bench = Bench(seconds=1.0, pin=False, out=tmp_path, verbose=False)
    stairs = Staircase(bench, "uvicorn-nodeflate", 100, baseline_sessions=2)
    clients = SimpleNamespace(stdin=io.StringIO())
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # a server still catching up
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.3)  # both past their start
        waited_busy = stairs.settle(clients, busy.pid)  # type: ignore[arg-type]
        waited_idle = stairs.settle(clients, idle.pid)  # type: ignore[arg-type]
    finally:
        busy.kill()
        idle.kill()
        busy.wait()
        idle.wait()

    assert clients.stdin.getvalue() == "pause\npause\n"
    assert waited_busy >= 1.0  # until the limit
    assert waited_idle < 1.0  # one look


@pytest.mark.timeout(120)
def test_the_clients_quit_by_themselves_after_a_failed_last_step(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "THRESHOLD_MS", -1.0)
    with Staircase(bench, "uvicorn-nodeflate", 100, baseline_sessions=2) as stairs:
        assert not stairs.step(2)["ok"]  # the clients are paused now
        clients = stairs.load

    assert clients is not None
    assert clients.returncode == 0  # not killed after waiting for it


@pytest.mark.timeout(120)
def test_a_finished_staircase_kills_its_server_rather_than_wait_for_it_to_end_its_sessions(
    bench: Bench,
) -> None:
    with Staircase(bench, "uvicorn-nodeflate", 100, baseline_sessions=2) as stairs:
        stairs.step(2)
        server = stairs.server

    assert server is not None
    bench.reap()
    assert server.returncode == -signal.SIGKILL
