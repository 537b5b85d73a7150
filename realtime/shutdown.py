"""Graceful shutdown of a worker: end every session it holds cleanly before the process stops.

On SIGTERM (or SIGINT) the worker stops admitting sessions, tells its browsers the server is
restarting (close code 4503, so they reconnect elsewhere), lets each relay flush its queued writes
and finish its conversation with `server_shutdown`, and then hands the signal to the server's own
handler (daphne's or uvicorn's), within REALTIME_SHUTDOWN_TIMEOUT_S.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from conversations.models import Conversation
from realtime import registry
from realtime.control import end_session

log = logging.getLogger(__name__)

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Process state, not session state: whether this worker is going down, and its loop's handlers.
_state: dict[str, Any] = {"stopping": False, "loop": None, "task": None}


def stopping() -> bool:
    """True once this worker has begun shutting down: new sessions are refused."""
    return bool(_state["stopping"])


def install() -> None:
    """Take over SIGTERM and SIGINT in the running loop, once per process."""
    loop = asyncio.get_running_loop()
    if _state["loop"] is loop:
        return
    _state["loop"] = loop
    for sig in _SIGNALS:
        previous = signal.getsignal(sig)
        try:
            loop.add_signal_handler(sig, _begin, sig, previous)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            log.debug("Cannot install a %s handler here", sig.name)


def _begin(sig: signal.Signals, previous: Callable[..., Any] | int | None) -> None:
    if _state["stopping"]:
        return
    _state["stopping"] = True
    log.info("%s received: ending this worker's voice sessions", sig.name)
    _state["task"] = asyncio.ensure_future(_drain_then_stop(sig, previous))


async def _drain_then_stop(sig: signal.Signals, previous: Callable[..., Any] | int | None) -> None:
    try:
        await asyncio.wait_for(drain(), timeout=settings.REALTIME_SHUTDOWN_TIMEOUT_S)
    except TimeoutError:
        log.warning("Shutdown timeout reached with sessions still open")
    finally:
        _hand_over(sig, previous)


async def drain() -> None:
    """End every session of this worker and wait until each has left the registry."""
    worker = registry.worker_id()
    ids = await database_sync_to_async(
        lambda: list(registry.worker_sessions(worker).values_list("pk", flat=True))
    )()
    for session_id in ids:
        await end_session(session_id, Conversation.EndReason.SERVER_SHUTDOWN)
    while await database_sync_to_async(registry.worker_sessions(worker).exists)():  # noqa: ASYNC110
        await asyncio.sleep(0.1)  # the rows leave as each relay finishes writing
    log.info("All %d voice session(s) of this worker ended", len(ids))
    await asyncio.sleep(0.3)  # let the servers flush the close frames before the process stops


def _hand_over(sig: signal.Signals, previous: Callable[..., Any] | int | None) -> None:
    """Give the signal to whoever handled it before us (the server), as if we had never been here."""
    loop = _state["loop"]
    for each in _SIGNALS:
        loop.remove_signal_handler(each)
    signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
    os.kill(os.getpid(), sig)
