"""A staircase of loads on one server: the clients of bench.load, grown or shrunk step by step.

A capacity search measures one server at many loads. Starting a fresh server and connecting
every session again for each load spent most of a phase's time outside its measured window;
here one client process keeps its sessions streaming, and each step only opens or closes the
difference. The parent (bench.runner.Staircase) writes a number of sessions on stdin for each
step, or `pause` to stop every stream until the next step; the process then

1. if the server is behind (a step over capacity leaves frames queued in it and the stand-in)
   or the streams are paused, waits (paused) until it has echoed them (`Stairs.drain`);
2. closes sessions (the newest first) or opens new ones, which start streaming at a random
   point of the frame period, as independent users would, and prints `ready`;
3. waits `--warmup-s`, then until the server has caught up (see `Stairs.catch_up`), for at
   most `--catch-up-s`;
4. prints `start`, measures `--seconds`, prints `end`, waits up to `--drain-s` for the window's
   last echoes and prints the step's result as one line of JSON, in bench.load's fields.

Sessions that the server closed are dropped at the next step and replaced. An empty line or
`quit` ends the process.

    python -m bench.load_steps --target app --url ws://127.0.0.1:8000/ws/voice/ --tokens-file t.json
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import uvloop

from bench.load import (
    Run,
    Session,
    _deflated,
    _say,
    client_arguments,
    open_session,
    pcm_body,
    stream,
    timeline,
    warm_up,
)

NEVER = 2**62  # a window's end before the step's window closes
GROWING_S = 1.0  # a backlog that grew over this long is not being caught up (`Stairs.catch_up`)
DRAIN_LIMIT_S = 10.0  # the longest pause to let the server clear a backlog (`Stairs.drain`)


class Stairs:
    """The sessions streaming now, and the steps measured on them."""

    def __init__(self, args: argparse.Namespace, tokens: list[str]) -> None:
        self.args = args
        self.tokens = tokens
        body = pcm_body(args.frame_ms)
        self.run = Run(args.target, args.frame_ms, 0, 0, body, base64.b64encode(body), stepped=True)
        self.active: list[Session] = []
        self.retired: set[int] = set()  # sessions closed on purpose, whose errors do not count
        self.rng = random.Random(args.seed)  # noqa: S311 (not for security)
        self.run.t0_ns = time.perf_counter_ns()

    def token(self, index: int) -> str | None:
        # More sessions than users over a long search (closed ones are not reused): a user may
        # then hold two, which the bench's per-user limit allows.
        return self.tokens[index % len(self.tokens)] if self.tokens else None

    async def resize(self, sessions: int) -> list[str]:
        """Close or open sessions until `sessions` stream; the connect failures."""
        alive = [s for s in self.active if _streaming(s)]
        dropped = [s for s in self.active if not _streaming(s)]
        extra = alive[sessions:]
        self.active = alive[:sessions]
        self.retired.update(s.index for s in extra)
        await asyncio.gather(*(_stop(s, self.run) for s in extra + dropped))
        new = [Session(len(self.run.sessions) + i) for i in range(sessions - len(self.active))]
        self.run.sessions.extend(new)
        gate = asyncio.Semaphore(self.args.connect_concurrency)
        failures: list[str] = []

        async def opened(session: Session) -> None:
            async with gate:
                try:
                    await open_session(self.run, session, self.args, self.token(session.index))
                except Exception as exc:
                    failures.append(f"{type(exc).__name__}: {exc}"[:200])
                    self.retired.add(session.index)
                    await _stop(session, self.run)
                    session.ws = None

        await asyncio.gather(*(opened(s) for s in new))
        period = self.args.frame_ms / 1000
        begin = time.perf_counter() + 0.05
        for session in new:
            if session.ws is not None:
                start = begin + self.rng.random() * period
                session.streamer = asyncio.create_task(stream(self.run, session, start, None))
                self.active.append(session)
        return failures

    def in_flight(self) -> int:
        """Frames sent and not yet echoed, but for those given up on (`drain`)."""
        return sum(s.sent - s.received - s.given_up for s in self.active)

    def caught_up(self) -> bool:
        """No more frames in flight than a quarter of a frame per session: a server keeping up
        echoes each frame within a few ms, so in flight are a few hundredths of a frame each."""
        return self.in_flight() <= len(self.active) / 4

    async def catch_up(self) -> bool:
        """Wait until the server has caught up (`caught_up`), for at most `--catch-up-s`, and
        no longer once the frames in flight grew over a whole second: the server is then not
        catching up, and the step fails whatever the wait (until 2026-12-02 such steps waited
        the whole 3 s). Whether it caught up."""
        until = time.perf_counter() + self.args.catch_up_s
        behind, since = self.in_flight(), time.perf_counter()
        while not self.caught_up() and time.perf_counter() < until:
            await asyncio.sleep(0.05)
            if time.perf_counter() - since >= GROWING_S:
                if self.in_flight() > behind:
                    break
                behind, since = self.in_flight(), time.perf_counter()
        return self.caught_up()

    async def drain(self) -> float:
        """Pause every stream until the server has echoed what it holds; the seconds paused.

        A step begins so when the server is behind, or when the parent paused the streams
        after a failed step (bench.staircase.Staircase.settle): a window that starts with frames
        still queued measures the load before it. Frames still out when none has come back for
        `--drain-quiet-s`, or after DRAIN_LIMIT_S, are lost (the step before counted them) and
        no longer waited for.
        """
        args = self.args
        self.run.flowing.clear()
        started = changed = time.perf_counter()
        left = self.in_flight()
        while left > 0:
            await asyncio.sleep(0.02)
            now, still = time.perf_counter(), self.in_flight()
            if still != left:
                left, changed = still, now
            if now - changed > args.drain_quiet_s or now - started > DRAIN_LIMIT_S:
                break
        for s in self.active:
            s.given_up = s.sent - s.received
        self.run.flowing.set()
        return time.perf_counter() - started

    async def step(self, sessions: int) -> dict[str, Any]:
        args, run = self.args, self.run
        errors_before = [len(s.server_errors) for s in run.sessions]
        sends_before = [s.send_errors for s in run.sessions]
        drained_s = 0.0 if self.caught_up() and run.flowing.is_set() else await self.drain()
        t_connect = time.perf_counter()
        failures = await self.resize(sessions)
        connect_s = time.perf_counter() - t_connect
        _say("ready")
        await asyncio.sleep(args.warmup_s)
        caught_up = await self.catch_up()

        run.rtt_us, run.timeline, run.late_sends_us, run.unknown_frames = [], [], [], 0
        for s in self.active:
            s.window_from, s.window_to, s.window_returned = s.sent, NEVER, 0
        _say("start")
        window0, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.sleep(args.seconds)
        for s in self.active:
            s.window_to = s.sent
        window_s, load_cpu_s = time.perf_counter() - window0, time.process_time() - cpu0
        _say("end")

        expected = sum(s.window_to - s.window_from for s in self.active)
        deadline = time.perf_counter() + args.drain_s
        while sum(s.window_returned for s in self.active) < expected and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        returned = sum(s.window_returned for s in self.active)
        # What the sessions closed on purpose saw while closing is no error of this load.
        counted = [s for s in run.sessions if s.index not in self.retired]
        new_errors = _errors_since(counted, errors_before)
        send_errors = sum(s.send_errors - _at(sends_before, s.index) for s in counted)
        return {
            "target": args.target,
            "sessions": sessions,
            "frame_ms": args.frame_ms,
            "stepped": True,
            "window_s": window_s,
            "warmup_s": args.warmup_s,
            "connect_s": connect_s,
            "caught_up": caught_up,
            "drained_s": drained_s,
            "connected": len(self.active),
            "connect_failures": failures[:5],
            "connect_failure_count": len(failures),
            "frames_expected": expected,
            "frames_measured": len(run.rtt_us),
            "frames_lost": expected - returned,
            "send_errors": send_errors,
            "server_errors": sorted(set(new_errors))[:10],
            "server_error_count": len(new_errors),
            "unknown_frames": run.unknown_frames,
            "late_sends": len(run.late_sends_us),
            "late_send_p99_us": int(np.percentile(run.late_sends_us, 99)) if run.late_sends_us else 0,
            "late_send_max_us": max(run.late_sends_us, default=0),
            "load_cpu_s": load_cpu_s,
            "deflate": sum(1 for s in self.active if s.ws is not None and _deflated(s.ws)),
            "rtt_us": run.rtt_us,
            "timeline": timeline(run.timeline, args.frame_ms),
        }

    async def close(self) -> None:
        await asyncio.gather(*(_stop(s, self.run) for s in self.active))


def _streaming(session: Session) -> bool:
    """Still connected and sending: a session the server closed is not."""
    return (
        session.ws is not None
        and session.close_code is None
        and session.streamer is not None
        and not session.streamer.done()
    )


async def _stop(session: Session, run: Run) -> None:
    session.stopping = True
    run.flowing.set()  # a paused stream must wake to end
    if session.ws is not None:
        await session.ws.close()
    if session.streamer is not None:
        await asyncio.gather(session.streamer, return_exceptions=True)


def _at(before: list[int], index: int) -> int:
    """A session's count when the step began (0 for one opened since)."""
    return before[index] if index < len(before) else 0


def _errors_since(sessions: list[Session], before: list[int]) -> list[str]:
    """The errors the sessions saw since the step began."""
    return [e for s in sessions for e in s.server_errors[_at(before, s.index) :]]


async def main_async(args: argparse.Namespace) -> None:
    tokens = json.loads(Path(args.tokens_file).read_text()) if args.tokens_file else []  # noqa: ASYNC240
    if args.target == "app" and len(tokens) <= args.warm:
        raise SystemExit(f"need more than {args.warm} tokens, have {len(tokens)}")
    await warm_up(args, tokens)
    stairs = Stairs(args, tokens[: len(tokens) - args.warm] if args.warm else tokens)
    _say("warm")
    loop = asyncio.get_running_loop()
    while True:
        words = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not words or words[0] == "quit":
            break
        if words[0] == "pause":  # the parent waits for the server to finish a backlog
            stairs.run.flowing.clear()
            continue
        _say(json.dumps(await stairs.step(int(words[0])), separators=(",", ":")))
    await stairs.close()


def main() -> None:
    parser = client_arguments(__doc__, seconds=4.0)
    # Half a second of streaming before a step's catch-up wait: the sessions opened for it are
    # already connected (the app's session start is behind them), and a backlog is waited out.
    parser.set_defaults(warmup_s=0.5)
    parser.add_argument(
        "--catch-up-s", type=float, default=3.0, help="longest wait for the server to clear a backlog"
    )
    parser.add_argument(
        "--drain-quiet-s", type=float, default=0.5, help="a paused drain ends when no echo came for this long"
    )
    args = parser.parse_args()
    uvloop.run(main_async(args))
    os._exit(0)  # skip tearing down hundreds of sockets one by one


if __name__ == "__main__":
    main()
