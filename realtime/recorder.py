"""Stores every session's turns and usage in order, without ever making the audio path wait.

The relay puts writes (service calls) on its session's recorder and moves on. All the recorders
of an event loop (a worker) share one writer: a background task that takes whatever queued up
meanwhile, from every session, and applies it in order in Django's database thread in one
transaction, turn and usage writes of every conversation together (`services.write_together`).
A busy worker thus stores a turn of each of dozens of sessions in the queries one write would
take. Closing a recorder waits until everything it queued is written, so a closing connection
loses nothing. A briefly unavailable database is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.db import InterfaceError, OperationalError, transaction

from conversations import services
from realtime.loops import PerLoop

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0)
# The CPU time one batch may take in Django's database thread, which shares the core and the
# GIL with the audio, so a burst of every session's turns is written in several batches with
# rests between. Each batch has fixed costs (a thread hop, a transaction, four reads), so
# short ones cost more per turn: in bench/ at 400 sessions storing a turn every 2 s, 25 ms
# batches took the server about 82% of its core against 92% for 10 ms batches, with no worse
# p99 (six runs each, with voiceproject/garbage.py's collector settings).
BATCH_CPU_S = 0.025
# How much nicer than the event loop the database thread is (Linux): when a frame arrives while
# a batch is being written, the scheduler then hands the core to the event loop at once instead
# of at the end of the database thread's time slice (in bench/, this halved the p99 added delay
# of frames with full turns stored, from about 6 ms to about 3 ms).
DATABASE_THREAD_NICE = 10
MIN_BATCH, MAX_BATCH = 6, 1000  # writes; six are a full voice turn
FIRST_CPU_PER_WRITE_S = 0.0005  # a first guess, refined by every batch
# How long a write may wait for others to join its batch, unless a session waits for it: writes
# trickle in one turn at a time, and a batch's fixed cost (a thread hop, a transaction, the
# locking read) is most of what one turn alone costs. A second, not a quarter (until
# 2026-12-02): in bench/'s persistence pairs (137 sessions a server, a turn every 2 s) storing
# took 6.2-6.5% of the server's CPU against 8.1-9.4%, runs alternating. A turn reaches the
# history API about a second after it happened; a closing session's writes do not wait.
LINGER_S = 1.0
# The most of the process's time the writes take while they queue up; the rest is left to the
# audio.
WRITE_SHARE = 0.5
MAX_REST_S = 1.0  # a write slowed by a failing database must not hold the next for long

Write = tuple[Callable[..., Any], dict[str, Any]]


class Recorder:
    """One conversation's ordered writes, applied by its event loop's shared writer."""

    def __init__(self, *, retry_delays: tuple[float, ...] = RETRY_DELAYS_S) -> None:
        self.retry_delays = retry_delays
        self.failed_writes = 0
        self._unwritten = 0
        self._written = asyncio.Event()
        self._written.set()
        self._writer: Writer | None = None  # its event loop's, found at the first write

    def put(self, write: Callable[..., Any], /, **kwargs: Any) -> None:
        """Queue a service call; never blocks."""
        if self._unwritten == 0:
            self._written.clear()
        self._unwritten += 1
        if self._writer is None:
            self._writer = _writer()
        self._writer.submit(self, (write, kwargs))

    async def drain(self) -> None:
        """Wait until everything queued so far is written (or given up), without lingering."""
        await self.written(hurry=True)

    async def written(self, *, hurry: bool = False) -> None:
        """Wait until everything queued so far is written (or given up).

        Without `hurry` the writes keep lingering for others to join their batch: for a caller
        that needs them stored but not at once (a budget check after each answer).
        """
        if self._written.is_set():
            return
        writer = self._writer or _writer()
        if hurry:
            writer.hurry(+1)
        try:
            # Shielded: a cancelled connection handler must not stop waiting for the final
            # writes, and the writer goes on regardless.
            await asyncio.shield(self._written.wait())
        finally:
            if hurry:
                writer.hurry(-1)

    async def close(self) -> None:
        """Write everything still queued. Safe to call more than once."""
        await self.drain()

    def _done(self, count: int, failed: int = 0) -> None:
        self.failed_writes += failed
        self._unwritten -= count
        if self._unwritten == 0:
            self._written.set()


class Writer:
    """One event loop's writes, from every recorder, applied in batches by one background task.

    A batch is as many writes as take about BATCH_CPU_S, judged by the CPU time of the batches
    before; a batch not full yet waits up to LINGER_S for more, unless a session is draining.
    After each batch the next waits in proportion to its CPU time, so a burst of every session's
    writes takes at most WRITE_SHARE of the core from the audio.
    """

    def __init__(self) -> None:
        self._queue: deque[tuple[Recorder, Write]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._cpu_per_write = FIRST_CPU_PER_WRITE_S
        self._draining = 0  # sessions waiting for their writes
        self._hurried = asyncio.Event()

    def hurry(self, change: int) -> None:
        """Count a session that starts (+1) or stops (-1) waiting for its writes."""
        self._draining += change
        if self._draining:
            self._hurried.set()
        else:
            self._hurried.clear()

    def _batch_size(self) -> int:
        return max(MIN_BATCH, min(MAX_BATCH, int(BATCH_CPU_S / self._cpu_per_write)))

    def submit(self, recorder: Recorder, write: Write) -> None:
        self._queue.append((recorder, write))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="recorder-writer")

    async def _run(self) -> None:
        try:
            while self._queue:
                if len(self._queue) < self._batch_size() and not self._draining:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._hurried.wait(), LINGER_S)
                size = min(len(self._queue), self._batch_size())
                batch = [self._queue.popleft() for _ in range(size)]
                cpu = await self._apply(batch)
                if cpu is not None:
                    self._cpu_per_write = 0.7 * self._cpu_per_write + 0.3 * cpu / size
                rest = (cpu or 0.0) * (1 - WRITE_SHARE) / WRITE_SHARE
                if self._queue:
                    await asyncio.sleep(min(rest, MAX_REST_S))
        finally:
            self._task = None

    async def _apply(self, batch: list[tuple[Recorder, Write]]) -> float | None:
        """Write the batch in one transaction, retrying while the database is away.

        Each recorder's own retry delays decide when its writes are given up; the others go on.
        Returns the CPU time the database thread took for the batch, or None when it was given up.
        """
        attempt = 0
        while True:  # until written, or until every recorder has given up
            failed: dict[Recorder, int] = {}
            try:
                cpu = await database_sync_to_async(_timed_write_all)(batch, failed)
            except (OperationalError, InterfaceError) as error:
                batch = _give_up(batch, attempt, error)
                if not batch:
                    return None
                delay = min(recorder.retry_delays[attempt] for recorder in _counts(batch))
                log.warning("Database unavailable for %d write(s), retrying in %.1f s", len(batch), delay)
                await asyncio.sleep(delay)
                attempt += 1
                continue
            for recorder, count in _counts(batch).items():
                recorder._done(count, failed.get(recorder, 0))
            return cpu


_writer = PerLoop(Writer)  # the worker's writer


def _give_up(
    batch: list[tuple[Recorder, Write]], attempt: int, error: Exception
) -> list[tuple[Recorder, Write]]:
    """The entries to try again; those of recorders out of retries are counted as failed."""
    for recorder, count in _counts(batch).items():
        if attempt >= len(recorder.retry_delays):
            log.error("Gave up %d write(s) after %d attempts: %s", count, attempt + 1, error)
            recorder._done(count, count)
    return [entry for entry in batch if attempt < len(entry[0].retry_delays)]


def _counts(batch: list[tuple[Recorder, Write]]) -> dict[Recorder, int]:
    counts: dict[Recorder, int] = {}
    for recorder, _ in batch:
        counts[recorder] = counts.get(recorder, 0) + 1
    return counts


def _timed_write_all(batch: list[tuple[Recorder, Write]], failed: dict[Recorder, int]) -> float:
    """`_write_all` at the database thread's lower priority, returning the CPU time it took."""
    _lower_this_threads_priority()
    started = time.thread_time()
    _write_all(batch, failed)
    return time.thread_time() - started


_lowered = threading.local()


def _lower_this_threads_priority() -> None:
    """Give way to the event loop: a higher nice value for this thread, once (Linux only).

    On Linux the nice value belongs to each thread; elsewhere `setpriority` with a thread id
    could reach another process, so nothing is done.
    """
    if getattr(_lowered, "done", False) or not sys.platform.startswith("linux"):
        return
    _lowered.done = True
    thread = threading.get_native_id()
    try:
        nice = os.getpriority(os.PRIO_PROCESS, thread) + DATABASE_THREAD_NICE
        os.setpriority(os.PRIO_PROCESS, thread, min(nice, 19))
    except OSError as exc:
        log.debug("Could not lower the database thread's priority: %s", exc)


def _write_all(batch: list[tuple[Recorder, Write]], failed: dict[Recorder, int]) -> None:
    """Apply a batch in one transaction, each recorder's writes in order; count failed writes.

    A batch of turn and usage writes only (the usual one) goes to one `write_together`, with no
    savepoint. Otherwise, or when that failed, every recorder's leading run of turn and usage
    writes goes in one `write_together`, across conversations; then, per recorder, what is left
    in order. A write that fails is isolated by savepoints (all together, then per recorder,
    then one by one), so it spoils no other.
    """
    queues: dict[Recorder, deque[Write]] = {}
    for recorder, write in batch:
        queues.setdefault(recorder, deque()).append(write)
    every = [write for writes in queues.values() for write in writes]
    if all(services.can_write_together(write) for write, _ in every):
        # The usual batch, all turns and usage: first in one transaction and no savepoint (its
        # two savepoints took 9-15% of bench/writes.py's CPU per turn); should one write fail,
        # the isolating way below.
        try:
            services.write_together(every)
        except (OperationalError, InterfaceError):
            raise  # the connection is gone: retry the whole batch
        except Exception:
            log.debug("Writing %d writes together failed; applying them in smaller parts", len(every))
        else:
            return
    with transaction.atomic():
        while queues:
            runs = {recorder: _leading_run(writes) for recorder, writes in queues.items()}
            nonempty = {recorder: run for recorder, run in runs.items() if run}
            if not _together([w for run in nonempty.values() for w in run]):
                for recorder, run in nonempty.items():
                    if len(nonempty) > 1 and _together(run):
                        continue
                    failed[recorder] = failed.get(recorder, 0) + sum(not _write_one(w) for w in run)
            for recorder, writes in list(queues.items()):
                if writes and not runs[recorder]:  # a write that cannot go together: alone
                    failed[recorder] = failed.get(recorder, 0) + (not _write_one(writes.popleft()))
                if not writes:
                    del queues[recorder]


def _leading_run(writes: deque[Write]) -> list[Write]:
    """Take the writes at the head of the queue that `services.write_together` can apply."""
    run = []
    while writes and services.can_write_together(writes[0][0]):
        run.append(writes.popleft())
    return run


def _together(writes: list[Write]) -> bool:
    """Apply turn and usage writes in one go; False when one of them failed (nothing stored)."""
    if not writes:
        return True
    try:
        with transaction.atomic():
            services.write_together(writes)
    except (OperationalError, InterfaceError):
        raise  # the connection is gone: retry the whole batch
    except Exception:
        log.debug("Writing %d writes together failed; applying them in smaller parts", len(writes))
        return False
    return True


def _write_one(entry: Write) -> bool:
    """Apply one write in a savepoint; False when it failed (logged)."""
    write, kwargs = entry
    try:
        with transaction.atomic():
            write(**kwargs)
    except (OperationalError, InterfaceError):
        raise  # the connection is gone: retry the whole batch (writes are idempotent)
    except Exception:
        name = getattr(write, "__name__", None) or getattr(getattr(write, "func", None), "__name__", "")
        log.exception("Writing %s failed", name or repr(write))
        return False
    return True
