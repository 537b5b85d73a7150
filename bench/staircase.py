"""A capacity search's steps on one server: bench.load_steps's clients, grown or shrunk per step.

A fresh phase per load spends most of its time outside the measured window: starting the
server, a warm-up, connecting every session (the app's session start writes a conversation and
a live-session row, 5-7 ms of CPU each: 600 sessions took 5-7 s to connect), and a direct phase at
each new load. Here the server and the clients stay up between steps, and each step only opens
or closes the difference. After a failed step the clients pause until the server has finished
what the load over capacity left it, and the next step goes on on the same server.

Every step's added delay is measured against the direct round trip at the fixed load (the
fixed-load table's direct phase), not at the step's own load: near the harness's limit the
clients' core queues the direct phase's frames too, and subtracting that queueing from every
relay's round trip flattered them. Charging it to the relay is the conservative side.
"""

from __future__ import annotations

import subprocess
import time
from types import TracebackType
from typing import Any

from bench import procstat
from bench.runner import LOAD_CORE, QUIET, VARIANTS, Bench, UnreadableResult, failed_load, free_port

SETTLE_LIMIT_S = 15.0  # the longest wait for a server to finish what a failed step left it
SETTLE_SAMPLE_S = 0.25  # its CPU is read over this long: /proc counts in hundredths of a second


class Staircase:
    """One server and one client process for the steps of one variant; a context manager."""

    def __init__(
        self,
        bench: Bench,
        name: str,
        frame_ms: int,
        baseline_sessions: int,
        settle_after_failure: bool = True,
    ) -> None:
        self.bench = bench
        # Side by side with another server (bench.persistence), pausing this one's clients would
        # change the other's window, and neither's tail is judged there.
        self.settle_after_failure = settle_after_failure
        self.variant = VARIANTS[name]
        self.frame_ms = frame_ms
        self.baseline_sessions = baseline_sessions
        self.server: subprocess.Popen[bytes] | None = None
        self.load: subprocess.Popen[str] | None = None
        self.marks: dict[str, Any] = {}
        self.fresh = True  # the load has not yet reported `warm`

    def __enter__(self) -> Staircase:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        bench, variant = self.bench, self.variant
        waited = bench.wait_quiet(bench.quiet_wait_s)
        bench.log(
            f"steps of {variant.name} {self.frame_ms}ms"
            + (f" (waited {waited:.1f} s for a quiet machine)" if waited > 1 else "")
        )
        port = free_port()
        log_name = f"{variant.name}-steps-{self.frame_ms}"
        self.server = bench.launch_server(variant, port, log_name)
        command = bench.load_command(
            "bench.load_steps", variant, bench.client_url(variant, port), self.frame_ms
        )
        # Beside the server, as a phase's clients: they wait for it to listen.
        self.load = bench.spawn(
            LOAD_CORE, command, env=bench.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.marks, self.fresh = {}, True
        bench.wait_listening(self.server, port, log_name)

    def stop(self) -> None:
        if self.load is not None:
            if self.load.stdin is not None and self.load.poll() is None:
                try:
                    self.load.stdin.write("quit\n")
                    self.load.stdin.flush()
                except OSError:
                    pass
            try:
                self.load.wait(30)
            except subprocess.TimeoutExpired:
                self.load.kill()
                self.load.wait()
            self.load = None
        if self.server is not None:
            # Killed: nothing of its shutdown is measured, and a server ending hundreds of
            # sessions at once held the next window back (daphne took 16 s over 575 of them).
            self.bench.stop_server(self.server, kill=True)
            self.server = None

    def step(self, sessions: int) -> dict[str, Any]:
        """The step at `sessions`; like Bench.measure, measured once more when it failed while
        other processes took more than their share of a core."""
        result = self.step_once(sessions)
        if not result["ok"] and result["disturbed"]:
            result["superseded"] = True
            self.bench.log("  disturbed by other processes: measuring again")
            result = self.step_once(sessions)
        return result

    def step_once(self, sessions: int) -> dict[str, Any]:
        """The step at `sessions`, measured once."""
        bench = self.bench
        load, server = self._running()
        baseline = bench.direct(self.baseline_sessions, self.frame_ms)
        tag = f"{self.variant.name} N={sessions} {self.frame_ms}ms (step)"
        bench.log(f"step {tag}")
        try:
            result = self._ask(load, server.pid, sessions)
        except UnreadableResult as exc:
            bench.harness_errors.append(f"{tag}: {exc}")
            bench.log(f"  {exc}: measuring again")
            result = self._ask(load, server.pid, sessions)
        if result is None:
            bench.log(f"  the steps of {self.variant.name} ended without a result")
            self.stop()
            result = failed_load(self.variant, sessions, self.frame_ms)
        else:
            result = bench.complete(result, self.marks, server.pid, sessions)
        result.update(stepped=True, baseline_sessions=self.baseline_sessions)
        bench.record(tag, self.variant, result, baseline)
        if not result["ok"] and self.settle_after_failure and self.load is not None:
            result["settled_s"] = self.settle(self.load, server.pid)
            bench.log(f"  paused {result['settled_s']:.1f} s while the server finished its backlog")
        return result

    def settle(self, load: subprocess.Popen[str], server_pid: int) -> float:
        """Pause the clients and wait until the server is idle, at most SETTLE_LIMIT_S; the wait.

        A load over capacity leaves the server behind: frames queued in it and the stand-in,
        and with turns, writes. A load just under capacity, with little CPU to spare, catches
        up for longer than a step waits, and its window measured the load above it (with turns,
        the server's CPU in the next step was 0.97 of the core against 0.87-0.91 fresh). Paused,
        it catches up at full speed; until 2026-12-02 the next step started a fresh server,
        10 s or more at hundreds of sessions.
        """
        if load.stdin is not None:
            try:
                load.stdin.write("pause\n")
                load.stdin.flush()
            except OSError:
                pass  # the clients ended: the next step starts them again (`_running`)
        started = time.monotonic()
        before = procstat.cpu_seconds(server_pid)
        while time.monotonic() - started < SETTLE_LIMIT_S:
            time.sleep(SETTLE_SAMPLE_S)
            after = procstat.cpu_seconds(server_pid)
            if (after - before) / SETTLE_SAMPLE_S < QUIET:
                break
            before = after
        return time.monotonic() - started

    def _running(self) -> tuple[subprocess.Popen[str], subprocess.Popen[bytes]]:
        """The load and the server, started again when the load has ended."""
        if self.load is None or self.load.poll() is not None:
            self.stop()
            self.start()
        if self.load is None or self.server is None:
            raise RuntimeError("the staircase did not start")
        return self.load, self.server

    def _ask(self, load: subprocess.Popen[str], server_pid: int, sessions: int) -> dict[str, Any] | None:
        """Send the step's load (at once, or in answer to `warm`) and read its result."""
        if not self.fresh and load.stdin is not None:
            load.stdin.write(f"{sessions}\n")
            load.stdin.flush()
        self.fresh = False
        return self.bench.read_load(load, server_pid, self.marks, reply=str(sessions))
