"""Where the app's time goes under load: py-spy samples of the server during a phase's window.

The profiled phases are extra runs, not the measured ones (sampling costs the server a little).
Stacks are summarized by the function that was running (self time) and by the area of code
(relay, Channels, the server, websockets, Django's database layer...), all threads together.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from bench.runner import Bench

PY_SPY = "py-spy"
PROFILED = [
    ("daphne", "daphne, echo only"),
    ("uvicorn-nodeflate", "uvicorn, no deflate, echo only"),
    ("daphne+turns", "daphne, full turns"),
]
CLOSE_OLD = "Channels' close_old_connections before every message (both threads)"
# Named costs on the audio path, counted wherever they appear in a stack (inclusive).
HOTSPOTS = [
    (CLOSE_OLD, re.compile(r"^aclose_old_connections ")),
    ("recorder writes (database thread)", re.compile(r"^DatabaseSyncToAsync\.thread_handler ")),
    (
        "  of which opening database connections",
        re.compile(r"^(DatabaseWrapper\.get_new_connection|BaseDatabaseWrapper\.connect) "),
    ),
    ("  of which commits", re.compile(r"^BaseDatabaseWrapper\._commit ")),
    ("permessage-deflate (compressing frames)", re.compile(r"permessage_deflate|zlib")),
    ("json.loads of upstream events", re.compile(r"^(loads|JSONDecoder\.decode) .*json")),
    ("json.dumps of browser events", re.compile(r"^(dumps|JSONEncoder\.encode) .*json")),
    ("base64 encode and decode", re.compile(r"^b64(en|de)code ")),
    ("dialect parse (upstream event to relay event)", re.compile(r"^Dialect\.parse ")),
    ("relay: upstream to browser (RelaySession._on_upstream)", re.compile(r"^RelaySession\._on_upstream ")),
    (
        "relay: browser to upstream (RelaySession.on_browser_bytes)",
        re.compile(r"^RelaySession\.on_browser_bytes "),
    ),
    ("Channels send path (AsyncConsumer.send)", re.compile(r"^AsyncConsumer\.send ")),
    (
        "websockets client send to upstream (ClientConnection.send)",
        re.compile(r"^(Connection|ClientConnection)\.send "),
    ),
    ("logging", re.compile(r"logging/__init__")),
]
AREAS = [
    ("relay: realtime/", re.compile(r"/realtime/")),
    ("stored writes: conversations/", re.compile(r"/conversations/")),
    ("Django ORM and SQLite", re.compile(r"/django/db/|sqlite3|_sqlite")),
    ("Django connection handling", re.compile(r"/django/(utils|dispatch|core/signals)")),
    ("asgiref sync_to_async, threads", re.compile(r"/asgiref/|threading\.py|concurrent/futures")),
    ("Channels consumer and middleware", re.compile(r"/channels/")),
    ("daphne, Twisted, autobahn", re.compile(r"/(daphne|twisted|autobahn|txaio)/")),
    ("uvicorn", re.compile(r"/uvicorn/")),
    ("websockets library", re.compile(r"/websockets/")),
    ("json", re.compile(r"json/|_json")),
    ("base64", re.compile(r"base64\.py")),
    ("logging", re.compile(r"logging/")),
    ("asyncio event loop", re.compile(r"asyncio/")),
]


def profile_all(bench: Bench, sessions: int) -> list[dict[str, Any]]:
    """Profile each of PROFILED at `sessions` sessions and 100 ms frames."""
    return [profile(bench, name, label, sessions) for name, label in PROFILED]


def profile(bench: Bench, name: str, label: str, sessions: int) -> dict[str, Any]:
    out = bench.out / f"profile-{name}.txt"
    started: list[subprocess.Popen[bytes]] = []

    def hook(pid: int) -> None:
        command = [
            str(Path(bench_python()).parent / PY_SPY),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(bench.seconds))),
            "--rate",
            "250",
            "--format",
            "raw",
            "--threads",
            "--output",
            str(out),
            "--nonblocking",
        ]
        started.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # noqa: S603

    bench.profile_hook = hook
    try:
        # Through phase() directly: a profiled run is kept out of the capacity searches.
        from bench.runner import VARIANTS

        baseline = bench.direct(sessions, 100)
        phase = bench.phase(VARIANTS[name], sessions, 100, baseline)
        phase["profiled"] = True
    finally:
        bench.profile_hook = None
    for process in started:
        process.wait(30)
    return {"variant": name, "label": label, "sessions": sessions, "raw": out.name, **summarize(out)}


def bench_python() -> str:
    import sys

    return sys.executable


def summarize(path: Path, top: int = 25) -> dict[str, Any]:
    """Self time by function and by area, in shares of all samples."""
    if not path.exists():
        return {"samples": 0, "functions": [], "areas": [], "idle": 0.0}
    own: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    hot: Counter[str] = Counter()
    total = idle = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        leaf = frames[-1]
        total += count
        if _is_idle(leaf, frames):
            idle += count
            continue
        own[_short(leaf)] += count
        areas[_area(frames)] += count
        for name, pattern in HOTSPOTS:
            if any(pattern.search(frame) for frame in frames):
                hot[name] += count
        if any(f.startswith("close_old_connections ") for f in frames) and not any(
            f.startswith("DatabaseSyncToAsync.thread_handler ") for f in frames
        ):
            hot[CLOSE_OLD] += count  # the database thread's half of the per-message hop
    busy = max(1, total - idle)
    return {
        "samples": total,
        "idle": idle / max(1, total),
        "functions": [(name, n / busy) for name, n in own.most_common(top)],
        "areas": [(name, n / busy) for name, n in areas.most_common()],
        "hotspots": [(name, hot[name] / busy) for name, _ in HOTSPOTS],
    }


def _is_idle(leaf: str, frames: list[str]) -> bool:
    return bool(re.match(r"(select|poll|epoll|wait|_worker|acquire)\b", leaf.split(" ")[0])) and (
        "selectors.py" in leaf or "threading.py" in leaf or "thread.py" in leaf or "queue.py" in leaf
    )


def _short(frame: str) -> str:
    """`function (path/to/module.py:line)` to `function (module.py)` with a package hint."""
    match = re.match(r"(.*) \((.*?):?(\d*)\)$", frame)
    if not match:
        return frame
    function, path = match.group(1), match.group(2)
    parts = Path(path).parts
    where = "/".join(parts[-2:]) if len(parts) >= 2 else path
    return f"{function} ({where})"


def _area(frames: list[str]) -> str:
    """The innermost frame that belongs to a known area names the sample's area."""
    for frame in reversed(frames):
        for name, pattern in AREAS:
            if pattern.search(frame):
                return name
    return "other"
