"""Stores one session's turns and usage in order, without ever making the audio path wait.

The relay puts writes (service calls) on a queue and moves on; one background task applies them
in order in Django's database thread. Closing waits until everything queued is written, so a
closing connection loses nothing. A briefly unavailable database is retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.db import InterfaceError, OperationalError, transaction

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0)
MAX_BATCH = 200


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
            # Whatever queued up meanwhile goes in the same transaction: one commit, not one per write.
            while not self._queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self._queue.get_nowait())
            writes = [entry for entry in batch if entry is not None]
            try:
                if writes:
                    await self._apply(writes)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if len(writes) < len(batch):  # the close marker, always last
                return

    async def _apply(self, writes: list[tuple[Callable[..., Any], dict[str, Any]]]) -> None:
        """Apply writes in order in one transaction, retrying the batch while the database is away."""
        for attempt, delay in enumerate((*self._retry_delays, None)):
            try:
                await database_sync_to_async(self._write_all)(writes)
                return
            except (OperationalError, InterfaceError) as exc:
                if delay is None:
                    self.failed_writes += len(writes)
                    log.error("Gave up %d write(s) after %d attempts: %s", len(writes), attempt + 1, exc)
                    return
                log.warning("Database unavailable for %d write(s), retrying in %.1f s", len(writes), delay)
                await asyncio.sleep(delay)

    def _write_all(self, writes: list[tuple[Callable[..., Any], dict[str, Any]]]) -> None:
        with transaction.atomic():
            for write, kwargs in writes:
                try:
                    with transaction.atomic():  # a savepoint: one bad write spoils no other
                        write(**kwargs)
                except (OperationalError, InterfaceError):
                    raise  # the connection is gone: retry the whole batch (writes are idempotent)
                except Exception:
                    self.failed_writes += 1
                    name = getattr(write, "__name__", None) or getattr(
                        getattr(write, "func", None), "__name__", ""
                    )
                    log.exception("Writing %s failed", name or repr(write))
