"""The load's result line reaches the runner whole, and a line that does not is measured again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bench import load
from bench.runner import VARIANTS, Bench, UnreadableResult


class PipeOut:
    """A stdout whose file takes at most `limit` bytes a write, as a raw pipe may."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def flush(self) -> None:
        pass


def test_a_long_result_line_is_written_whole_though_each_write_takes_a_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read_end, write_end = os.pipe()
    real_write = os.write
    monkeypatch.setattr(load.sys, "stdout", PipeOut(write_end))
    monkeypatch.setattr(load.os, "write", lambda fd, data: real_write(fd, bytes(data[:1000])))
    line = '{"frames":"' + "x" * 50_000 + '"}'

    load._say(line)
    os.close(write_end)

    with os.fdopen(read_end, "rb") as pipe:
        assert pipe.read() == (line + "\n").encode()


def test_an_unreadable_result_is_measured_again_and_logged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bench = Bench(seconds=1.0, pin=False, out=tmp_path, verbose=False)
    attempts: list[int] = []

    def phase(*args: Any) -> dict[str, Any]:
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise UnreadableResult("the load's result line ended after 80000 characters (exit 0)")
        return {"ok": True}

    monkeypatch.setattr(bench, "_phase", phase)

    assert bench.phase(VARIANTS["uvicorn-nodeflate"], 10, 100) == {"ok": True}
    assert attempts == [0, 1]
    assert bench.harness_errors == [
        "uvicorn-nodeflate N=10 100ms: the load's result line ended after 80000 characters (exit 0)"
    ]
