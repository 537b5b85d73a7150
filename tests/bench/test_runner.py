"""The benchmark runner's own housekeeping: databases, servers started and stopped, quiet waits."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from bench.runner import VARIANTS, Bench, remove_database


def _left_by_a_killed_run(db: Path) -> None:
    """A database in WAL mode whose process died: its -wal and -shm files stay beside it."""
    live = db.with_name("live.sqlite3")
    connection = sqlite3.connect(live)
    connection.execute("pragma journal_mode=wal")
    connection.execute("create table t (x integer)")
    connection.execute("insert into t values (1)")
    connection.commit()
    for suffix in ("", "-wal", "-shm"):
        shutil.copy(live.with_name(live.name + suffix), db.with_name(db.name + suffix))
    connection.close()
    db.with_name(db.name + "-journal").write_bytes(b"")


def test_removing_a_database_removes_its_journal_write_ahead_log_and_shared_memory(tmp_path: Path) -> None:
    db = tmp_path / "bench.sqlite3"
    _left_by_a_killed_run(db)

    remove_database(db)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.sqlite3"]
    fresh = sqlite3.connect(db)
    fresh.execute("pragma journal_mode=wal")
    fresh.execute("create table t (x integer)")
    assert fresh.execute("select count(*) from t").fetchone() == (0,)
    fresh.close()


def test_removing_a_database_that_is_not_there_is_no_error(tmp_path: Path) -> None:
    remove_database(tmp_path / "absent.sqlite3")


def _slow_to_stop() -> subprocess.Popen[bytes]:
    """A process that takes half a second to stop on SIGTERM, as a server ending its sessions."""
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(0.5), sys.exit(0)))\n"
        "print('up', flush=True)\n"
        "time.sleep(30)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.readline()
    return process


def test_a_server_asked_to_stop_is_not_waited_for_until_it_is_reaped(tmp_path: Path) -> None:
    bench = Bench(seconds=1.0, pin=False, out=tmp_path, verbose=False)
    server = _slow_to_stop()

    bench.stop_server(server)

    assert server.poll() is None  # still ending its sessions while the next phase starts
    bench.reap()
    assert server.returncode == 0  # it stopped on its own, not killed


def test_closing_the_run_reaps_the_servers_still_stopping(tmp_path: Path) -> None:
    bench = Bench(seconds=1.0, pin=False, out=tmp_path, verbose=False)
    server = _slow_to_stop()
    bench.stop_server(server)

    bench.close()

    assert server.returncode == 0


def test_no_wait_for_a_quiet_machine_right_after_a_quiet_window(tmp_path: Path) -> None:
    bench = Bench(seconds=1.0, pin=False, out=tmp_path, verbose=False)
    bench.phases.append({"foreign_app_core_util": 0.02, "foreign_load_core_util": 0.03})

    assert bench.wait_quiet(15.0) == 0.0


def test_after_a_busy_window_the_machine_is_sampled_before_the_next_phase(tmp_path: Path) -> None:
    bench = Bench(seconds=1.0, pin=False, out=tmp_path, verbose=False)
    bench.phases.append({"foreign_app_core_util": 0.4, "foreign_load_core_util": 0.0})

    # Sampled for half a second at least (up to the limit if other jobs keep the cores busy).
    assert 0.5 <= bench.wait_quiet(0.6) < 5.0


def test_a_server_that_fails_to_start_stops_the_phase_and_its_clients(tmp_path: Path) -> None:
    bench = Bench(seconds=1.0, pin=False, out=tmp_path / "results", verbose=False)
    bench.quiet_wait_s = 0.0
    bench.setup(users=4)
    broken = dataclasses.replace(VARIANTS["uvicorn-nodeflate"], name="broken", app="bench.no_such_module:app")
    spawned: list[subprocess.Popen[Any]] = []
    spawn = bench.spawn

    def recorded(core: str, command: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        process = spawn(core, command, **kwargs)
        spawned.append(process)
        return process

    bench.spawn = recorded  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match=r"logging to .*broken-2-100\.log exited at start"):
            bench.phase(broken, 2, 100)
    finally:
        bench.close()

    server, load = spawned
    assert server.poll() is not None
    assert load.poll() is not None  # not left waiting for a server that will never listen


def test_two_threads_reaping_at_once_both_wait_for_the_stopping_server(tmp_path: Path) -> None:
    bench = Bench(seconds=1.0, pin=False, out=tmp_path, verbose=False)
    server = _slow_to_stop()
    bench.stop_server(server)
    seen: list[int | None] = []

    def reap_then_look() -> None:
        bench.reap()
        seen.append(server.poll())

    threads = [threading.Thread(target=reap_then_look) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert seen == [0, 0]
