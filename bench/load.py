"""Browser-like clients: N sessions streaming PCM16 in real time and timing each frame's echo.

Each frame carries a header in its first bytes (sequence, session, send time, a magic number);
the upstream stand-in echoes the audio back, through the relay under test or directly, and the
client takes the round trip when the header comes back. Frames never returned are lost.

The run talks to its parent (bench.runner) over stdin/stdout, one line each way per step:
after `--warm` sessions have streamed briefly and closed it prints `warm` and waits for a line
on stdin (the parent reads the server's baseline memory then); it prints `start` and `end`
around the measured window and finally one line of JSON with the results.

    python -m bench.load --target app --url ws://127.0.0.1:8000/ws/voice/ --sessions 10 --tokens-file t.json
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import math
import os
import random
import struct
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedOK

HEADER = struct.Struct("<IIqH")  # sequence, session, send time (perf_counter_ns), magic
HEADER_BYTES = 18  # a multiple of 3, so its base64 can be spliced in front of the body's
MAGIC = 0xBE4C
PCM_BYTES_PER_MS = 48
APPEND_PREFIX = b'{"type":"input_audio_buffer.append","audio":"'
DELTA_PREFIX = b'{"type":"response.output_audio.delta"'
DELTA_FIELD = b'"delta":"'
HEADER_B64 = HEADER_BYTES * 4 // 3
TARGETS = ("app", "bare", "direct")
# How long the warm-up sessions stream: their first frames take every lazy import and cache of
# the audio path. (1 s until 2026-12-02: 0.7 s more at the start of every phase and staircase.)
WARM_UP_S = 0.3


def _say(line: str) -> None:
    """One whole line to the parent. The bench runs with PYTHONUNBUFFERED, so stdout is a raw
    file, whose write may take only part of a long line (the result is a few hundred kB)."""
    sys.stdout.flush()
    data = (line + "\n").encode()
    while data:
        data = data[os.write(sys.stdout.fileno(), data) :]


def pcm_body(frame_ms: int) -> bytes:
    """A 440 Hz tone with a little noise: real-looking PCM16 after the header."""
    samples = frame_ms * 24
    t = np.arange(samples) / 24_000
    rng = np.random.default_rng(7)
    wave = 0.3 * np.sin(2 * math.pi * 440 * t) + 0.02 * rng.standard_normal(samples)
    pcm = (wave * 32767).astype("<i2").tobytes()
    return pcm[HEADER_BYTES:]


@dataclass
class Session:
    """One client's counters."""

    index: int
    ws: ClientConnection | None = None
    sent: int = 0
    received: int = 0
    send_errors: int = 0
    server_errors: list[str] = field(default_factory=list)
    close_code: int | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None
    streamer: asyncio.Task[None] | None = None
    # The measured frames' sequence numbers, [from, to), and how many of them came back.
    window_from: int = 0
    window_to: int = 0
    window_returned: int = 0
    stopping: bool = False  # its stream ends before the next frame
    given_up: int = 0  # frames no longer waited for (bench.load_steps drains, then gives up)

    def in_window(self, seq: int) -> bool:
        return self.window_from <= seq < self.window_to


@dataclass
class Run:
    """Everything one run measures, shared by its sessions."""

    target: str
    frame_ms: int
    measured_from: int  # the first measured frame's sequence number
    measured_to: int  # one past the last
    body: bytes
    body_b64: bytes
    rtt_us: list[int] = field(default_factory=list)
    # (send time in ms since the first frame, round trip in µs) of every returned frame
    timeline: list[tuple[int, int]] = field(default_factory=list)
    t0_ns: int = 0
    late_sends_us: list[int] = field(default_factory=list)
    unknown_frames: int = 0
    sessions: list[Session] = field(default_factory=list)
    returned: set[tuple[int, int]] = field(default_factory=set)
    # Steps (bench.load_steps) run for minutes: only the window's frames are kept.
    stepped: bool = False
    # Cleared, every stream pauses before its next frame (bench.load_steps drains a backlog).
    flowing: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.flowing.set()

    def frame(self, seq: int, session: int) -> bytes:
        """The next frame: binary PCM to a relay; to the stand-in, GA's append event, as the bytes
        of a text frame (see `stream`)."""
        header = HEADER.pack(seq, session, time.perf_counter_ns(), MAGIC)
        if self.target == "direct":
            return APPEND_PREFIX + base64.b64encode(header) + self.body_b64 + b'"}'
        return header + self.body

    def on_echo(self, header: bytes) -> None:
        now = time.perf_counter_ns()
        seq, session, sent_ns, magic = HEADER.unpack(header)
        if magic != MAGIC:
            self.unknown_frames += 1
            return
        rtt_us = (now - sent_ns) // 1000
        client = self.sessions[session]
        client.received += 1
        measured = client.in_window(seq)
        if measured:
            self.rtt_us.append(rtt_us)
            client.window_returned += 1
        if measured or not self.stepped:
            self.timeline.append(((sent_ns - self.t0_ns) // 1_000_000, rtt_us))
        if not self.stepped:
            self.returned.add((session, seq))


async def open_session(run: Run, session: Session, args: argparse.Namespace, token: str | None) -> None:
    """Connect and wait until audio may flow (`session.ready`, or `session.updated` when direct)."""
    headers = {}
    if run.target == "app" and token:
        headers["Authorization"] = f"Token {token}"
    elif run.target == "direct":
        headers["Authorization"] = "Bearer bench"
    url = args.url + ("?model=gpt-realtime" if run.target == "direct" else "")
    # Browsers offer permessage-deflate on every WebSocket; a server that accepts it compresses audio.
    compression = "deflate" if args.deflate and run.target != "direct" else None
    session.ws = await connect(
        url,
        additional_headers=headers,
        max_size=None,
        compression=compression,
        ping_interval=None,
        open_timeout=60,
    )
    session.reader = asyncio.create_task(receive(run, session))
    if run.target == "direct":
        await session.ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
    ready = asyncio.ensure_future(session.ready.wait())
    await asyncio.wait({ready, session.reader}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if not session.ready.is_set():
        ready.cancel()
        raise ConnectionError(f"no session.ready: close {ws_close(session)}, errors {session.server_errors}")


async def receive(run: Run, session: Session) -> None:
    """Read everything the server sends; time echoes, note readiness and errors."""
    ws = session.ws
    if ws is None:
        return
    try:
        async for is_text, message in _messages(ws, run.target):
            if not is_text:
                run.on_echo(message[:HEADER_BYTES])
            elif message.startswith(DELTA_PREFIX):
                start = message.index(DELTA_FIELD) + len(DELTA_FIELD)
                run.on_echo(base64.b64decode(message[start : start + HEADER_B64]))
            else:
                event = orjson.loads(message)
                kind = event.get("type")
                if kind in ("session.ready", "session.updated"):
                    session.ready.set()
                elif kind == "error":
                    session.server_errors.append(str(event.get("code") or event.get("error", {}).get("code")))
    except Exception as exc:
        session.server_errors.append(type(exc).__name__)
    finally:
        session.close_code = ws.close_code


async def _messages(ws: ClientConnection, target: str) -> AsyncIterator[tuple[bool, bytes]]:
    """(whether a text frame, its bytes) of every message the server sends, until a normal close.

    The stand-in sends only text, and of a delta only the first bytes are read, so a direct
    client takes its messages undecoded: decoding 6 kB of UTF-8 per frame, which a relay's
    client never does (its audio comes in binary frames), would load the clients' core more in
    the direct phases than in the relays' and inflate the baseline the relays are measured by.
    """
    if target == "direct":
        try:
            while True:
                yield True, await ws.recv(decode=False)
        except ConnectionClosedOK:
            return
    async for message in ws:
        yield (False, message) if isinstance(message, bytes) else (True, message.encode())


async def stream(run: Run, session: Session, start: float, frames: int | None) -> None:
    """Send `frames` frames (None: until the session is stopping) on a real-time schedule from
    `start` (a perf_counter time).

    While `run.flowing` is cleared it sends nothing; then its schedule moves on by the whole
    frame periods paused, so it neither bursts to catch up nor leaves a gap in the sequence.
    """
    ws = session.ws
    if ws is None:
        return
    period = run.frame_ms / 1000
    for seq in range(frames) if frames is not None else itertools.count():
        if not run.flowing.is_set():
            paused = time.perf_counter()
            await run.flowing.wait()
            if session.stopping:
                return
            start += math.ceil((time.perf_counter() - paused) / period) * period
        due = start + seq * period
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        elif session.in_window(seq):
            run.late_sends_us.append(int(-wait * 1e6))
        if session.stopping:
            return
        try:
            # To the stand-in, the append event's bytes go as a text frame: no str to encode.
            await ws.send(run.frame(seq, session.index), text=run.target == "direct")
            session.sent += 1
        except Exception:
            if not session.stopping:  # closing it ourselves mid-send is no error
                session.send_errors += 1
            return


async def until_listening(url: str, timeout_s: float = 60.0) -> None:
    """Wait until the server under test accepts connections.

    The parent starts the clients beside the server, not after it, so that their imports and
    the server's, on two cores, overlap; it stops the clients itself if the server fails.
    """
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _, writer = await asyncio.open_connection(parts.hostname, parts.port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
        else:
            writer.close()
            return


async def warm_up(args: argparse.Namespace, tokens: list[str]) -> None:
    """Once the server listens, a few short sessions so it has imported and cached what it
    lazily loads."""
    await until_listening(args.url)
    if args.warm <= 0 or args.target == "direct":
        return
    body = pcm_body(args.frame_ms)
    run = Run(args.target, args.frame_ms, 0, 0, body, base64.b64encode(body))
    run.sessions = [Session(i) for i in range(args.warm)]
    await asyncio.gather(
        *(open_session(run, s, args, tokens[-1 - s.index]) for s in run.sessions), return_exceptions=True
    )
    start = time.perf_counter() + 0.05
    frames = max(1, round(WARM_UP_S * 1000 / args.frame_ms))
    await asyncio.gather(*(stream(run, s, start, frames) for s in run.sessions))
    await asyncio.sleep(0.3)
    await asyncio.gather(*(s.ws.close() for s in run.sessions if s.ws is not None))


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    tokens = json.loads(Path(args.tokens_file).read_text()) if args.tokens_file else []  # noqa: ASYNC240
    if args.target == "app" and len(tokens) < args.sessions + args.warm:
        raise SystemExit(f"need {args.sessions + args.warm} tokens, have {len(tokens)}")
    await warm_up(args, tokens)
    _say("warm")
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    body = pcm_body(args.frame_ms)
    warm_frames = round(args.warmup_s * 1000 / args.frame_ms)
    measured = round(args.seconds * 1000 / args.frame_ms)
    run = Run(args.target, args.frame_ms, warm_frames, warm_frames + measured, body, b"")
    run.body_b64 = base64.b64encode(body)
    run.sessions = [
        Session(i, window_from=warm_frames, window_to=warm_frames + measured) for i in range(args.sessions)
    ]

    gate = asyncio.Semaphore(args.connect_concurrency)
    connect_failures: list[str] = []

    async def opened(session: Session) -> None:
        async with gate:
            try:
                await open_session(run, session, args, tokens[session.index] if tokens else None)
            except Exception as exc:
                connect_failures.append(f"{type(exc).__name__}: {exc}"[:200])
                session.ws = None

    t_connect = time.perf_counter()
    await asyncio.gather(*(opened(s) for s in run.sessions))
    connect_s = time.perf_counter() - t_connect
    _say("ready")

    # Sessions start spread over one frame period, as independent users would.
    rng = random.Random(args.seed)  # noqa: S311 (not for security)
    period = args.frame_ms / 1000
    t0 = time.perf_counter() + 0.2
    run.t0_ns = int(t0 * 1e9)
    starts = [t0 + rng.random() * period for _ in run.sessions]
    frames = warm_frames + measured
    streams = asyncio.gather(
        *(stream(run, s, start, frames) for s, start in zip(run.sessions, starts, strict=True))
    )
    cpu0 = time.process_time()
    await asyncio.sleep(max(0.0, t0 + args.warmup_s - time.perf_counter()))
    _say("start")
    window0 = time.perf_counter()
    cpu_window0 = time.process_time()
    await asyncio.sleep(max(0.0, t0 + period + args.warmup_s + args.seconds - time.perf_counter()))
    window_s = time.perf_counter() - window0
    load_cpu_s = time.process_time() - cpu_window0
    _say("end")
    await streams
    deadline = time.perf_counter() + args.drain_s
    expected = sum(s.sent for s in run.sessions)
    while len(run.returned) < expected and time.perf_counter() < deadline:  # noqa: ASYNC110 (polling is simplest)
        await asyncio.sleep(0.05)
    load_cpu_total = time.process_time() - cpu0
    for s in run.sessions:
        if s.ws is not None:
            await s.ws.close()

    lost_measured = 0
    for s in run.sessions:
        if s.ws is None:
            continue
        for seq in range(run.measured_from, min(run.measured_to, s.sent)):
            if (s.index, seq) not in run.returned:
                lost_measured += 1
    return {
        "target": args.target,
        "sessions": args.sessions,
        "frame_ms": args.frame_ms,
        "window_s": window_s,
        "warmup_s": args.warmup_s,
        "connect_s": connect_s,
        "connected": sum(1 for s in run.sessions if s.ws is not None),
        "connect_failures": connect_failures[:5],
        "connect_failure_count": len(connect_failures),
        "frames_expected": measured * sum(1 for s in run.sessions if s.ws is not None),
        "frames_measured": len(run.rtt_us),
        "frames_lost": lost_measured,
        "frames_sent_total": expected,
        "frames_returned_total": len(run.returned),
        "send_errors": sum(s.send_errors for s in run.sessions),
        "server_errors": sorted({e for s in run.sessions for e in s.server_errors})[:10],
        "server_error_count": sum(len(s.server_errors) for s in run.sessions),
        "unknown_frames": run.unknown_frames,
        "late_sends": len(run.late_sends_us),
        "late_send_p99_us": int(np.percentile(run.late_sends_us, 99)) if run.late_sends_us else 0,
        "late_send_max_us": max(run.late_sends_us, default=0),
        "load_cpu_s": load_cpu_s,
        "load_cpu_total_s": load_cpu_total,
        "deflate": sum(1 for s in run.sessions if s.ws is not None and _deflated(s.ws)),
        "rtt_us": run.rtt_us,
        "timeline": timeline(run.timeline, args.frame_ms),
    }


def ws_close(session: Session) -> int | None:
    return session.ws.close_code if session.ws is not None else None


def _deflated(ws: ClientConnection) -> bool:
    """Whether the server accepted permessage-deflate on this connection."""
    return any("deflate" in type(e).__name__.lower() for e in ws.protocol.extensions)


def timeline(points: list[tuple[int, int]], frame_ms: int) -> list[list[float]]:
    """Round trips by send time, per 250 ms: [start s, p50 ms, p99 ms, max ms, frames]."""
    buckets: dict[int, list[int]] = {}
    for t_ms, rtt_us in points:
        buckets.setdefault(t_ms // 250, []).append(rtt_us)
    rows = []
    for key in sorted(buckets):
        values = np.asarray(buckets[key]) / 1000
        p50, p99 = np.percentile(values, [50, 99])
        rows.append([key / 4, round(float(p50), 3), round(float(p99), 3), float(values.max()), len(values)])
    return rows


def client_arguments(doc: str | None, seconds: float) -> argparse.ArgumentParser:
    """The options of the clients' processes (this one and bench.load_steps)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--target", choices=TARGETS, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--frame-ms", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=seconds, help="measured window")
    parser.add_argument("--warmup-s", type=float, default=1.0, help="streaming before the window")
    parser.add_argument("--drain-s", type=float, default=2.0, help="how long to wait for the last echoes")
    parser.add_argument("--warm", type=int, default=2, help="sessions of the server warm-up")
    parser.add_argument("--tokens-file", default="")
    parser.add_argument("--connect-concurrency", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-deflate", dest="deflate", action="store_false", help="do not offer permessage-deflate"
    )
    return parser


def main() -> None:
    parser = client_arguments(__doc__, seconds=5.0)
    parser.add_argument("--sessions", type=int, default=10)
    args = parser.parse_args()
    result = uvloop.run(main_async(args))  # the cheaper the clients, the less they colour the numbers
    _say(json.dumps(result, separators=(",", ":")))
    os._exit(0)  # skip tearing down hundreds of sockets one by one


if __name__ == "__main__":
    main()
