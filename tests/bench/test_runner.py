"""The benchmark runner's own housekeeping."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from bench.runner import remove_database


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
