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
import itertools
import logging
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.db import InterfaceError, OperationalError, transaction

from conversations import services

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0)
MAX_BATCH = 1000
# The most of the process's time the writes take while they queue up; the rest is left to the
# audio, which shares the core (and the GIL) with Django's one database thread.
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

    def put(self, write: Callable[..., Any], /, **kwargs: Any) -> None:
        """Queue a service call; never blocks."""
        self._unwritten += 1
        self._written.clear()
        _writer().submit(self, (write, kwargs))

    async def drain(self) -> None:
        """Wait until everything queued so far is written (or given up)."""
        # Shielded: a cancelled connection handler must not stop waiting for the final writes,
        # and the writer goes on regardless.
        await asyncio.shield(self._written.wait())

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

    After each batch the next waits in proportion to how long it took, so a burst of every
    session's writes takes at most WRITE_SHARE of the time from the audio, and the batches that
    grow meanwhile are cheaper per write.
    """

    def __init__(self) -> None:
        self._queue: deque[tuple[Recorder, Write]] = deque()
        self._task: asyncio.Task[None] | None = None

    def submit(self, recorder: Recorder, write: Write) -> None:
        self._queue.append((recorder, write))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="recorder-writer")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_BATCH))]
                started = loop.time()
                await self._apply(batch)
                rest = (loop.time() - started) * (1 - WRITE_SHARE) / WRITE_SHARE
                if self._queue:
                    await asyncio.sleep(min(rest, MAX_REST_S))
        finally:
            self._task = None

    async def _apply(self, batch: list[tuple[Recorder, Write]]) -> None:
        """Write the batch in one transaction, retrying while the database is away.

        Each recorder's own retry delays decide when its writes are given up; the others go on.
        """
        for attempt in itertools.count():  # ends when written, or when every recorder has given up
            failed: dict[Recorder, int] = {}
            try:
                await database_sync_to_async(_write_all)(batch, failed)
            except (OperationalError, InterfaceError) as error:
                batch = _give_up(batch, attempt, error)
                if not batch:
                    return
                delay = min(recorder.retry_delays[attempt] for recorder in _counts(batch))
                log.warning("Database unavailable for %d write(s), retrying in %.1f s", len(batch), delay)
                await asyncio.sleep(delay)
                continue
            for recorder, count in _counts(batch).items():
                recorder._done(count, failed.get(recorder, 0))
            return


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Writer] = weakref.WeakKeyDictionary()


def _writer() -> Writer:
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = Writer()
    return writer


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


def _write_all(batch: list[tuple[Recorder, Write]], failed: dict[Recorder, int]) -> None:
    """Apply a batch in one transaction, each recorder's writes in order; count failed writes.

    Every recorder's leading run of turn and usage writes goes in one `write_together`, across
    conversations; then, per recorder, what is left in order. A write that fails is isolated by
    savepoints (all together, then per recorder, then one by one), so it spoils no other.
    """
    queues: dict[Recorder, deque[Write]] = {}
    for recorder, write in batch:
        queues.setdefault(recorder, deque()).append(write)
    with transaction.atomic():
        while queues:
            runs = {recorder: _leading_run(writes) for recorder, writes in queues.items()}
            if not _together([w for run in runs.values() for w in run]):
                for recorder, run in runs.items():
                    if not _together(run):
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
    if len(writes) == 1:
        return _write_one(writes[0])
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
