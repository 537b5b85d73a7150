"""Stores one session's turns and usage in order, without ever making the audio path wait.

The relay puts writes (service calls) on a queue and moves on; one background task applies them
in order in Django's database thread, whatever queued up meanwhile in one transaction, and runs of
turn and usage writes together (`services.write_together`), so a busy worker writes less often
and with fewer queries. Closing waits until everything queued is written, so a
closing connection loses nothing. A briefly unavailable database is retried.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from channels.db import database_sync_to_async
from django.db import InterfaceError, OperationalError, transaction

from conversations import services

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0)
MAX_BATCH = 200
# The most of the process's time the recorders' writes take while they queue up; the rest is left
# to the audio, which shares the core (and the GIL) with Django's one database thread.
WRITE_SHARE = 0.5
MAX_REST_S = 1.0  # a write slowed by a failing database must not hold every recorder for long


class _Turns:
    """One event loop's recorders, taking turns at the database thread with rests between."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.rest_until = 0.0


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def database_turn() -> AsyncIterator[None]:
    """Hold this loop's turn at the database thread; after a write, rest in proportion to it.

    Recorders write one at a time anyway (the thread is single); waiting here instead of in the
    thread's queue lets them rest, so a burst of turns (every session's writes at once) takes
    at most WRITE_SHARE of the time, and batches grow meanwhile, which makes each write cheaper.
    """
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = _Turns()
    async with turns.lock:
        wait = turns.rest_until - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        started = loop.time()
        try:
            yield
        finally:
            finished = loop.time()
            rest = (finished - started) * (1 - WRITE_SHARE) / WRITE_SHARE
            turns.rest_until = finished + min(rest, MAX_REST_S)


class Recorder:
    """An ordered queue of database writes for one conversation."""

    def __init__(self, *, retry_delays: tuple[float, ...] = RETRY_DELAYS_S) -> None:
        self._queue: asyncio.Queue[tuple[Callable[..., Any], dict[str, Any]] | None] = asyncio.Queue()
        self._retry_delays = retry_delays
        self._task: asyncio.Task[None] | None = None
        self.failed_writes = 0

    def start(self) -> None:
        """Start applying writes; called once the event loop runs."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="recorder")

    def put(self, write: Callable[..., Any], /, **kwargs: Any) -> None:
        """Queue a service call; never blocks."""
        self._queue.put_nowait((write, kwargs))

    async def drain(self) -> None:
        """Wait until everything queued so far is written."""
        await self._queue.join()

    async def close(self) -> None:
        """Write everything still queued, then stop. Safe to call more than once."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        # Shielded: a cancelled connection handler must not cut the final writes short.
        await asyncio.shield(self._task)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            try:
                await self._apply(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if batch[-1] is None:  # the close marker, always last
                return

    async def _apply(self, batch: list[tuple[Callable[..., Any], dict[str, Any]] | None]) -> None:
        """Write the batch in one transaction, retrying while the database is away.

        Each attempt first waits for this process's turn at the database thread; whatever queued
        up meanwhile joins the batch (one commit, not one per write; order kept).
        """
        for attempt, delay in enumerate((*self._retry_delays, None)):
            async with database_turn():
                while not self._queue.empty() and len(batch) < MAX_BATCH and batch[-1] is not None:
                    batch.append(self._queue.get_nowait())
                writes = [entry for entry in batch if entry is not None]
                if not writes:
                    return
                try:
                    await database_sync_to_async(self._write_all)(writes)
                    return
                except (OperationalError, InterfaceError) as exc:
                    error = exc
            if delay is None:
                self.failed_writes += len(writes)
                log.error("Gave up %d write(s) after %d attempts: %s", len(writes), attempt + 1, error)
                return
            log.warning("Database unavailable for %d write(s), retrying in %.1f s", len(writes), delay)
            await asyncio.sleep(delay)

    def _write_all(self, writes: list[tuple[Callable[..., Any], dict[str, Any]]]) -> None:
        with transaction.atomic():
            for group in _groups(writes):
                if len(group) > 1 and self._write_together(group):
                    continue
                for write, kwargs in group:
                    self._write_one(write, kwargs)

    def _write_together(self, group: list[tuple[Callable[..., Any], dict[str, Any]]]) -> bool:
        """Apply a run of turn and usage writes in one go; False when one of them failed."""
        try:
            with transaction.atomic():
                services.write_together(group[0][1]["conversation_id"], group)
        except (OperationalError, InterfaceError):
            raise  # the connection is gone: retry the whole batch
        except Exception:
            # One bad write: apply them one by one, so that it spoils no other.
            log.debug("Writing %d writes together failed; applying them one by one", len(group))
            return False
        return True

    def _write_one(self, write: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        try:
            with transaction.atomic():  # a savepoint: one bad write spoils no other
                write(**kwargs)
        except (OperationalError, InterfaceError):
            raise  # the connection is gone: retry the whole batch (writes are idempotent)
        except Exception:
            self.failed_writes += 1
            name = getattr(write, "__name__", None) or getattr(getattr(write, "func", None), "__name__", "")
            log.exception("Writing %s failed", name or repr(write))


def _groups(
    writes: list[tuple[Callable[..., Any], dict[str, Any]]],
) -> list[list[tuple[Callable[..., Any], dict[str, Any]]]]:
    """Runs of writes that `services.write_together` can apply to one conversation; others alone."""
    groups: list[list[tuple[Callable[..., Any], dict[str, Any]]]] = []
    for write, kwargs in writes:
        last = groups[-1] if groups else None
        if (
            last is not None
            and services.can_write_together(write)
            and services.can_write_together(last[0][0])
            and kwargs.get("conversation_id") == last[0][1].get("conversation_id")
        ):
            last.append((write, kwargs))
        else:
            groups.append([(write, kwargs)])
    return groups
