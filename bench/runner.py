"""Runs every phase of the benchmark and writes bench/results/results.json.

A phase is one server variant, one number of sessions and one frame size: a fresh server process
pinned to core 0, the load (bench.load) pinned to core 1 beside the upstream stand-in. `direct`
phases have no server: the clients talk to the stand-in themselves, and their median round trip at
the same number of sessions and frame size is what the relays' round trips are compared with.
The capacity searches' steps and the persistence pairs share a server per variant instead, and
are compared with the direct phase at the fixed load (bench.staircase).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench import procstat

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PY = sys.executable
APP_CORE, LOAD_CORE = "0", "1"
THRESHOLD_MS = 50.0  # capacity: p99 added delay at or under this, and no lost frame
STEP = 25  # capacity is searched, and loads chosen, in steps of this many sessions
LATE_MS = 50.0  # a frame whose added delay is over this is late
QUIET = 0.10  # a core is quiet when other processes use less than this share of it
NICE = -10
DISTURBED = 0.10  # a phase is disturbed when other processes used more than this share of a core


@dataclass(frozen=True)
class Variant:
    """What serves the clients in a phase."""

    name: str
    label: str
    server: str  # "daphne", "uvicorn", "tcp-proxy" or "" (direct)
    app: str = "voiceproject.asgi:application"
    target: str = "app"  # how the clients speak: app, bare or direct
    server_args: tuple[str, ...] = ()
    turns: bool = False  # the stand-in plays full turns, so the recorder writes
    aligned: bool = False  # every session's turns end in the same moment (bench.standin)
    turn_ms: int = 0  # audio per full turn; 0: the stand-in's default (2 s)
    env: dict[str, str] = field(default_factory=dict)


# A turn (an utterance and its answer) every 6 s of audio: the brisk end of spoken conversation,
# where 5 to 15 s is usual; full turns otherwise come every 2 s, a stress rate.
SLOW_TURN_MS = 6000

# uvicorn's switch for permessage-deflate, which it negotiates by default; see docs/benchmarks.md.
NO_DEFLATE = ("--ws-per-message-deflate", "false")

VARIANTS = {
    v.name: v
    for v in (
        Variant("direct", "direct (no relay)", "", target="direct"),
        Variant("tcp-proxy", "TCP forwarder (floor)", "tcp-proxy", app="", target="direct"),
        Variant("bare", "bare relay (uvicorn)", "uvicorn", app="bench.bare_relay:app", target="bare"),
        Variant(
            "bare-nodeflate",
            "bare relay (uvicorn, no deflate)",
            "uvicorn",
            app="bench.bare_relay:app",
            target="bare",
            server_args=NO_DEFLATE,
        ),
        Variant("daphne", "app, daphne", "daphne"),
        Variant("uvicorn", "app, uvicorn", "uvicorn"),
        Variant("daphne+turns", "app, daphne, full turns", "daphne", turns=True),
        Variant(
            "daphne+turns-nopersist",
            "app, daphne, full turns, persistence off",
            "daphne",
            app="bench.asgi_app:application",
            turns=True,
            env={"BENCH_PERSISTENCE": "off"},
        ),
        Variant("uvicorn-nodeflate", "app, uvicorn, no deflate", "uvicorn", server_args=NO_DEFLATE),
        Variant(
            "uvicorn-nodeflate-asyncio",
            "app, uvicorn, no deflate, asyncio loop",
            "uvicorn",
            server_args=(*NO_DEFLATE, "--loop", "asyncio"),
        ),
        Variant(
            "uvicorn-nodeflate+turns",
            "app, uvicorn, no deflate, full turns",
            "uvicorn",
            server_args=NO_DEFLATE,
            turns=True,
        ),
        Variant(
            "uvicorn-nodeflate+aligned-turns",
            "app, uvicorn, no deflate, full turns aligned",
            "uvicorn",
            server_args=NO_DEFLATE,
            turns=True,
            aligned=True,
        ),
        Variant(
            "uvicorn-nodeflate+turns-pythongc",
            "app, uvicorn, no deflate, full turns, Python's collector settings",
            "uvicorn",
            server_args=NO_DEFLATE,
            turns=True,
            env={"WORKER_GC_THRESHOLD": "0"},
        ),
        Variant(
            "uvicorn-nodeflate+slow-turns",
            "app, uvicorn, no deflate, a full turn every 6 s",
            "uvicorn",
            server_args=NO_DEFLATE,
            turns=True,
            turn_ms=SLOW_TURN_MS,
        ),
        Variant(
            "uvicorn-nodeflate+slow-turns-nopersist",
            "app, uvicorn, no deflate, a full turn every 6 s, persistence off",
            "uvicorn",
            app="bench.asgi_app:application",
            server_args=NO_DEFLATE,
            turns=True,
            turn_ms=SLOW_TURN_MS,
            env={"BENCH_PERSISTENCE": "off"},
        ),
        Variant(
            "uvicorn-nodeflate+turns-nopersist",
            "app, uvicorn, no deflate, full turns, persistence off",
            "uvicorn",
            app="bench.asgi_app:application",
            server_args=NO_DEFLATE,
            turns=True,
            env={"BENCH_PERSISTENCE": "off"},
        ),
    )
}


@dataclass
class Bench:
    """The shared state of one benchmark run."""

    seconds: float
    pin: bool
    out: Path
    verbose: bool = True
    standin_port: int = 0
    standin: subprocess.Popen[str] | None = None
    tokens_file: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    direct_cache: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    phases: list[dict[str, Any]] = field(default_factory=list)
    harness_errors: list[str] = field(default_factory=list)
    quiet_wait_s: float = 15.0  # how long a phase waits for other processes to quieten
    nice: bool = field(default_factory=lambda: os.geteuid() == 0)
    started: float = field(default_factory=time.monotonic)
    _stopping: list[subprocess.Popen[bytes]] = field(default_factory=list)  # see stop_server
    _stopping_lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"[{time.monotonic() - self.started:6.1f}s] {message}", file=sys.stderr, flush=True)

    # --- Setup ---------------------------------------------------------------------------------

    def pinned(self, core: str, command: list[str]) -> list[str]:
        return ["taskset", "-c", core, *command] if self.pin else command

    def spawn(self, core: str, command: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start a process on its core; as root, in a scheduling group of its own at nice -10.

        With autogroups every session shares a core equally whatever its nice, so a shared box's
        other jobs would take half of each core; a group of its own at -10 makes them yield.
        """
        process = subprocess.Popen(  # noqa: S603
            self.pinned(core, command), cwd=ROOT, start_new_session=True, **kwargs
        )
        if self.nice:
            try:
                Path(f"/proc/{process.pid}/autogroup").write_text(str(NICE))
                os.setpriority(os.PRIO_PROCESS, process.pid, NICE)
            except OSError:
                self.log("could not raise the priority of the benchmark's processes")
        return process

    def setup(self, users: int) -> None:
        """A fresh SQLite database with users and tokens, and the stand-in."""
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "logs").mkdir(exist_ok=True)
        db = self.out / "bench.sqlite3"
        remove_database(db)
        self.env = {
            **os.environ,
            "ENV_FILE": str(self.out / "no.env"),  # a developer's .env must not change the bench
            "DJANGO_SETTINGS_MODULE": "voiceproject.settings",
            "SECRET_KEY": "bench-secret-key-not-for-production-" + "x" * 20,
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": f"sqlite:///{db}",
            "REALTIME_PROVIDER": "openai",
            "OPENAI_API_KEY": "bench",
            "LOG_LEVEL": "INFO",
            # Each client is its own user with one session; stale registrations of a stopped
            # server must not refuse the next phase's sessions.
            "REALTIME_MAX_SESSIONS_PER_USER": "1000",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("REDIS_URL", None)
        self.log(f"migrating {db.name} and creating {users} users with tokens")
        keys = subprocess.run(  # noqa: S603
            [PY, "-m", "bench.setup_db", str(users)],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        self.tokens_file = self.out / "tokens.json"
        self.tokens_file.write_text(keys)
        self.standin = self.spawn(
            LOAD_CORE,
            [PY, "-m", "bench.standin", "--port", "0"],
            env=self.env,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.standin.stdout.readline() if self.standin.stdout else ""
        self.standin_port = int(line)
        self.log(f"stand-in on port {self.standin_port}")

    def close(self) -> None:
        self.reap()
        if self.standin is not None:
            self.standin.terminate()
            self.standin.wait(10)

    # --- Servers -------------------------------------------------------------------------------

    def upstream_url(self, variant: Variant) -> str:
        if variant.aligned:
            turns = "/turns-aligned"
        elif variant.turns and variant.turn_ms:
            turns = f"/turns-every-{variant.turn_ms}"
        else:
            turns = "/turns" if variant.turns else ""
        return f"ws://127.0.0.1:{self.standin_port}{turns}/v1/realtime"

    def log_path(self, log_name: str) -> Path:
        return self.out / "logs" / f"{log_name}.log"

    def launch_server(self, variant: Variant, port: int, log_name: str) -> subprocess.Popen[bytes]:
        """Start a server process for the variant, logging to `log_name`, without waiting for it
        to listen (`wait_listening`): the clients start meanwhile."""
        env = {
            **self.env,
            **variant.env,
            "OPENAI_REALTIME_URL": self.upstream_url(variant),
            "BARE_UPSTREAM_URL": self.upstream_url(variant),
        }
        if variant.server == "tcp-proxy":
            command = [PY, "-m", "bench.tcp_proxy", "--port", str(port)]
            command += ["--upstream-port", str(self.standin_port)]
        elif variant.server == "daphne":
            command = [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), variant.app]
        else:
            command = [PY, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port)]
            command += [*variant.server_args, variant.app]
        with open(self.log_path(log_name), "wb") as log:  # the child keeps its copy
            return self.spawn(APP_CORE, command, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_listening(self, process: subprocess.Popen[bytes], port: int, log_name: str) -> None:
        """Wait until a launched server accepts connections; raise if it exits or never listens."""
        what = f"the server logging to {self.log_path(log_name)}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited at start")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{what} did not listen on {port}")

    def stop_server(self, process: subprocess.Popen[bytes], kill: bool = False) -> None:
        """Ask a server to stop, without waiting: it shuts down (ending its sessions, writing
        what they queued) while the next phase starts, and `reap` waits for it before the next
        measured window. With `kill`, it is killed instead, where its shutdown serves nothing."""
        if process.poll() is None:
            process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        with self._stopping_lock:
            self._stopping.append(process)

    def reap(self) -> None:
        """Wait for every server asked to stop (killing any that takes over 10 s).

        Thread-safe, and every caller waits for them all: the persistence pairs' two loads
        reach their warm-up at once, and neither's window may start beside a stopping server.
        """
        with self._stopping_lock:
            stopping = list(self._stopping)
        for process in stopping:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with self._stopping_lock:
            self._stopping = [process for process in self._stopping if process.poll() is None]

    def measure_writes(self, turns: int) -> dict[str, Any]:
        """The recorder's CPU cost per full turn, alone on the app's core (bench.writes)."""
        db = self.out / "writes.sqlite3"
        remove_database(db)
        self.log("timing the recorder's writes per turn")
        command = [PY, "-m", "bench.writes", "--database", f"sqlite:///{db}", "--turns", str(turns)]
        process = self.spawn(APP_CORE, command, env=self.env, stdout=subprocess.PIPE, text=True)
        out, _ = process.communicate(timeout=300)
        if process.returncode != 0:
            self.log(f"  bench.writes failed (exit {process.returncode})")
            return {}
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        self.log(
            "  per turn: "
            + ", ".join(
                f"{result[f'cpu_ms_per_turn_{k}']:.2f} ms, {result[f'queries_per_turn_{k}']} queries ({k})"
                for k in ("each_write", "turn", "sessions")
            )
        )
        return result

    # --- Phases --------------------------------------------------------------------------------

    def direct(self, sessions: int, frame_ms: int) -> dict[str, Any]:
        """The direct round trip at this load, measured once per run."""
        key = (sessions, frame_ms)
        if key not in self.direct_cache:
            self.direct_cache[key] = self.phase(VARIANTS["direct"], sessions, frame_ms)
        return self.direct_cache[key]

    def measure(self, name: str, sessions: int, frame_ms: int) -> dict[str, Any]:
        """One phase, with the direct phase it is compared with.

        A failed phase during which other processes took more than DISTURBED of a core is measured
        once more (both attempts are kept, the second counts): this machine may be shared.
        """
        variant = VARIANTS[name]
        if variant.name == "direct":
            return self.direct(sessions, frame_ms)
        baseline = self.direct(sessions, frame_ms)
        result = self.phase(variant, sessions, frame_ms, baseline)
        if not result["ok"] and result["disturbed"]:
            result["superseded"] = True
            self.log("  disturbed by other processes: measuring again")
            if baseline["disturbed"]:
                self.direct_cache.pop((sessions, frame_ms))
                baseline = self.direct(sessions, frame_ms)
            result = self.phase(variant, sessions, frame_ms, baseline)
        return result

    def wait_quiet(self, limit_s: float = 15.0) -> float:
        """Wait (up to a limit) until other processes leave both cores nearly idle; the wait taken.

        No wait when the last measured window found them under QUIET on both cores, a moment
        ago. Otherwise the servers still stopping from the last phases (this run's own) are
        waited for first.
        """
        if self.phases and _quiet(self.phases[-1]):
            return 0.0
        self.reap()
        started = time.monotonic()
        while time.monotonic() - started < limit_s:  # a limit of 0 does not wait
            before = procstat.busy_seconds_per_cpu()
            time.sleep(0.5)
            after = procstat.busy_seconds_per_cpu()
            if all((after[c] - before[c]) / 0.5 < QUIET for c in (APP_CORE, LOAD_CORE) if c in after):
                break
        return time.monotonic() - started

    def phase(
        self, variant: Variant, sessions: int, frame_ms: int, baseline: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One phase; measured once more if the load's result could not be read (a harness fault,
        not the server's: it is logged and kept in results.json, never counted as a failure)."""
        try:
            return self._phase(variant, sessions, frame_ms, baseline)
        except UnreadableResult as exc:
            self.harness_errors.append(f"{variant.name} N={sessions} {frame_ms}ms: {exc}")
            self.log(f"  {exc}: measuring again")
            return self._phase(variant, sessions, frame_ms, baseline)

    def _phase(
        self, variant: Variant, sessions: int, frame_ms: int, baseline: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        tag = f"{variant.name} N={sessions} {frame_ms}ms"
        waited = self.wait_quiet(self.quiet_wait_s)
        self.log(f"phase {tag}" + (f" (waited {waited:.1f} s for a quiet machine)" if waited > 1 else ""))
        server, port, log_name = None, 0, f"{variant.name}-{sessions}-{frame_ms}"
        if variant.server:
            port = free_port()
            server = self.launch_server(variant, port, log_name)
            url = self.client_url(variant, port)
        else:
            url = self.upstream_url(variant)
        try:
            # The clients start beside the server, not after it (they wait for it to listen):
            # on two cores, neither waits for the other's imports.
            load = self.spawn_load(variant, url, sessions, frame_ms)
            try:
                if server is not None:
                    self.wait_listening(server, port, log_name)
            except BaseException:
                load.kill()
                load.wait()
                raise
            result = self.run_load(load, variant, sessions, frame_ms, server.pid if server else 0)
        finally:
            if server is not None:
                self.stop_server(server)
        return self.record(tag, variant, result, baseline)

    @staticmethod
    def client_url(variant: Variant, port: int) -> str:
        return f"ws://127.0.0.1:{port}/" + ("v1/realtime" if variant.target == "direct" else "ws/voice/")

    def record(
        self, tag: str, variant: Variant, result: dict[str, Any], baseline: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Summarize a load's result against its baseline, keep it and log it."""
        result.update(variant=variant.name, label=variant.label, server=variant.server)
        result["finished_at_s"] = time.monotonic() - self.started
        summarize(result, baseline)
        self.phases.append(result)
        self.log(
            f"  {tag}: rtt p50 {result['rtt_p50_ms']:.2f} p99 {result['rtt_p99_ms']:.2f} ms"
            + (
                f", added p50 {result['added_p50_ms']:.2f} p99 {result['added_p99_ms']:.2f}"
                f" max {result['added_max_ms']:.1f} ms"
                if baseline
                else ""
            )
            + f", lost {result['frames_lost']}, errors {result['server_error_count']}"
            + f", app cpu {result.get('app_cpu_util', 0):.0%}, load cpu {result['load_cpu_util']:.0%}"
            + f", stand-in cpu {result['standin_cpu_util']:.0%}"
            + f", others cpu {result.get('foreign_app_core_util', 0):.0%}"
            + f"/{result['foreign_load_core_util']:.0%}"
            + f" -> {'ok' if result['ok'] else 'FAIL'}"
        )
        return result

    def load_command(self, module: str, variant: Variant, url: str, frame_ms: int) -> list[str]:
        """The clients' command line (bench.load or bench.load_steps), measuring `self.seconds`."""
        return [
            PY,
            "-m",
            module,
            "--target",
            variant.target,
            "--url",
            url,
            "--frame-ms",
            str(frame_ms),
            "--seconds",
            str(self.seconds),
            "--tokens-file",
            str(self.tokens_file),
        ]

    def spawn_load(self, variant: Variant, url: str, sessions: int, frame_ms: int) -> subprocess.Popen[str]:
        """The clients of one phase (bench.load) on the load's core."""
        command = [*self.load_command("bench.load", variant, url, frame_ms), "--sessions", str(sessions)]
        return self.spawn(
            LOAD_CORE, command, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run_load(
        self, load: subprocess.Popen[str], variant: Variant, sessions: int, frame_ms: int, server_pid: int
    ) -> dict[str, Any]:
        """Follow a phase's clients to their result, and complete it with the processes' CPU."""
        marks: dict[str, Any] = {}
        try:
            result = self.read_load(load, server_pid, marks, reply="go")
        finally:
            load.wait()
        if result is None:
            self.log(f"  the load of {variant.name} ended without a result (exit {load.returncode})")
            return failed_load(variant, sessions, frame_ms)
        return self.complete(result, marks, server_pid, sessions)

    def read_load(
        self, load: subprocess.Popen[str], server_pid: int, marks: dict[str, Any], reply: str
    ) -> dict[str, Any] | None:
        """Follow the load's lines up to its next result (None: it ended without one).

        On `warm` it notes the server's memory and answers `reply`; on `start` and `end` it
        notes the time, each core's busy time and the processes' CPU in `marks`.
        """
        standin_pid = self.standin.pid if self.standin else 0
        if load.stdin is None or load.stdout is None:
            raise RuntimeError("no pipes to the load")
        for line in load.stdout:
            word = line.strip()
            if word == "warm":
                self.reap()  # the last phase's server must be gone before this one's window
                time.sleep(0.5)  # let the server finish the warm-up sessions' ends
                if server_pid:
                    marks["rss_base"] = procstat.rss_bytes(server_pid)
                load.stdin.write(reply + "\n")
                load.stdin.flush()
            elif word in ("start", "end"):
                marks[f"t_{word}"] = time.monotonic()
                marks[f"busy_{word}"] = procstat.busy_seconds_per_cpu()
                marks[f"standin_cpu_{word}"] = procstat.cpu_seconds(standin_pid)
                if server_pid:
                    marks[f"cpu_{word}"] = procstat.cpu_seconds(server_pid)
                    marks[f"main_cpu_{word}"] = procstat.main_thread_cpu_seconds(server_pid)
                    marks[f"rss_{word}"] = procstat.rss_bytes(server_pid)
                if word == "start" and self.profile_hook is not None and server_pid:
                    self.profile_hook(server_pid)
            elif word.startswith("{"):
                try:
                    result: dict[str, Any] = json.loads(word)
                except json.JSONDecodeError:
                    raise UnreadableResult(
                        f"the load's result line ended after {len(word)} characters"
                    ) from None
                return result
        return None

    @staticmethod
    def complete(
        result: dict[str, Any], marks: dict[str, Any], server_pid: int, sessions: int
    ) -> dict[str, Any]:
        """The processes' CPU and the server's memory over the window, from the marks."""
        window = marks["t_end"] - marks["t_start"]
        result["measured_s"] = window
        result["standin_cpu_util"] = (marks["standin_cpu_end"] - marks["standin_cpu_start"]) / window
        result["load_cpu_util"] = result["load_cpu_s"] / result["window_s"]
        busy = {cpu: marks["busy_end"][cpu] - marks["busy_start"][cpu] for cpu in marks["busy_end"]}
        ours = result["load_cpu_util"] + result["standin_cpu_util"]
        # Anything else running on the machine during the window (other users' jobs, say).
        result["foreign_load_core_util"] = max(0.0, busy.get(LOAD_CORE, 0.0) / window - ours)
        if server_pid:
            cpu = marks["cpu_end"] - marks["cpu_start"]
            result["app_cpu_s"] = cpu
            result["app_cpu_util"] = cpu / window
            # The event loop's thread, and the rest: Django's database thread, chiefly.
            main = marks["main_cpu_end"] - marks["main_cpu_start"]
            result["app_main_thread_util"] = main / window
            result["app_other_threads_util"] = max(0.0, cpu - main) / window
            result["foreign_app_core_util"] = max(0.0, busy.get(APP_CORE, 0.0) / window - cpu / window)
            result["cpu_s_per_session_min"] = cpu / (sessions * window / 60)
            result["rss_base_mib"] = marks["rss_base"] / 2**20
            result["rss_end_mib"] = marks["rss_end"] / 2**20
            result["mib_per_session"] = (marks["rss_end"] - marks["rss_base"]) / 2**20 / sessions
        return result

    profile_hook: Any = None


class UnreadableResult(Exception):
    """The load's result line was not whole JSON."""


def _quiet(phase: dict[str, Any]) -> bool:
    """Whether other processes left both cores nearly idle during a phase's window."""
    return max(phase.get("foreign_app_core_util", 0.0), phase.get("foreign_load_core_util", 1.0)) < QUIET


def failed_load(variant: Variant, sessions: int, frame_ms: int) -> dict[str, Any]:
    """A phase whose clients could not even start: every session counted as failed."""
    return {
        "target": variant.target,
        "sessions": sessions,
        "frame_ms": frame_ms,
        "window_s": 1.0,
        "measured_s": 1.0,
        "connected": 0,
        "connect_failures": ["the load could not start its sessions"],
        "connect_failure_count": sessions,
        "frames_expected": 0,
        "frames_measured": 0,
        "frames_lost": 0,
        "send_errors": 0,
        "server_errors": [],
        "server_error_count": 0,
        "load_cpu_s": 0.0,
        "load_cpu_util": 0.0,
        "standin_cpu_util": 0.0,
        "foreign_load_core_util": 0.0,
        "rtt_us": [],
    }


def summarize(result: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    """Percentiles of the round trips and, against a direct phase, of the added delay."""
    rtt = np.asarray(result.pop("rtt_us"), dtype=np.float64) / 1000
    if rtt.size == 0:
        rtt = np.asarray([np.nan])
    result["rtt_p50_ms"] = float(np.percentile(rtt, 50))
    result["rtt_p99_ms"] = float(np.percentile(rtt, 99))
    result["rtt_max_ms"] = float(np.max(rtt))
    result["rtt_hist"] = histogram(rtt)
    failed = (
        result["frames_lost"] > 0
        or result["connect_failure_count"] > 0
        or result["server_error_count"] > 0
        or result["send_errors"] > 0
        or result["frames_measured"] == 0
    )
    if baseline is not None:
        added = rtt - baseline["rtt_p50_ms"]
        result["direct_p50_ms"] = baseline["rtt_p50_ms"]
        result["direct_p99_ms"] = baseline["rtt_p99_ms"]
        result["added_p50_ms"] = float(np.percentile(added, 50))
        result["added_p99_ms"] = float(np.percentile(added, 99))
        result["added_max_ms"] = float(np.max(added))
        result["frames_late"] = int(np.sum(added > LATE_MS))
        failed = failed or result["added_p99_ms"] > THRESHOLD_MS
    # The load's core was the bottleneck: the numbers then say more about the harness than the relay.
    result["harness_bound"] = result["load_cpu_util"] + result["standin_cpu_util"] > 0.9
    foreign = max(result.get("foreign_app_core_util", 0), result["foreign_load_core_util"])
    result["disturbed"] = foreign > DISTURBED
    result["ok"] = not failed


def histogram(values_ms: np.ndarray) -> dict[str, list[float]]:
    """Counts on log-spaced bins, for the report's chart."""
    edges = np.geomspace(0.05, 5000, 61)
    counts, _ = np.histogram(np.clip(values_ms, 0.05, 5000), bins=edges)
    return {"edges_ms": [round(e, 4) for e in edges.tolist()], "counts": counts.tolist()}


def remove_database(db: Path) -> None:
    """Remove a SQLite database with its journal files: a new file beside an old run's write-ahead
    log and shared memory is refused as a disk I/O error."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def can_pin() -> bool:
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
