"""A staircase's clients pause their streams while the server clears a backlog, then go on."""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.load import HEADER, HEADER_BYTES, Run, Session, pcm_body, stream
from bench.load_steps import Stairs


class RecordingSocket:
    """Stands in for a client connection: notes when each frame went and its sequence number."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, int]] = []

    async def send(self, data: bytes, text: bool = False) -> None:
        self.sent.append((time.perf_counter(), HEADER.unpack(data[:HEADER_BYTES])[0]))

    async def close(self) -> None:
        pass


async def _echo_backlog(session: Session, every_s: float) -> None:
    """The server echoing a session's frames in flight, one every `every_s`."""
    while session.received < session.sent:
        await asyncio.sleep(every_s)
        session.received += 1


def _args(**overrides: object) -> argparse.Namespace:
    args = {"target": "app", "frame_ms": 20, "seed": 1, "drain_quiet_s": 0.2, **overrides}
    return argparse.Namespace(**args)


async def test_a_paused_stream_sends_nothing_then_goes_on_without_a_burst_or_a_gap() -> None:
    body = pcm_body(20)
    run = Run("app", 20, 0, 0, body, b"")
    ws = RecordingSocket()
    session = Session(0, ws=ws)  # type: ignore[arg-type]
    run.sessions = [session]
    streaming = asyncio.create_task(stream(run, session, time.perf_counter(), None))

    await asyncio.sleep(0.2)
    run.flowing.clear()
    paused = time.perf_counter()
    await asyncio.sleep(0.4)
    resumed = time.perf_counter()
    run.flowing.set()
    await asyncio.sleep(0.2)
    session.stopping = True
    await streaming

    # At most the frame already due when the pause began goes during it.
    during = [t for t, _ in ws.sent if paused + 0.03 < t < resumed]
    assert during == []
    # A stream catching up on the 20 frames it skipped would send them at once; it sends on
    # its schedule: about ten in the 0.2 s after it resumed.
    after = [t for t, _ in ws.sent if t >= resumed]
    assert 5 <= len(after) <= 13
    assert [seq for _, seq in ws.sent] == list(range(len(ws.sent)))
    assert session.sent == len(ws.sent)


async def test_a_drain_waits_for_the_echoes_and_gives_up_on_frames_that_never_come() -> None:
    stairs = Stairs(_args(), tokens=[])
    echoed, lost = Session(0, sent=10, received=4), Session(1, sent=10, received=7)
    stairs.active = [echoed, lost]
    assert not stairs.caught_up()

    echoing = asyncio.create_task(_echo_backlog(echoed, every_s=0.02))
    paused_for = await stairs.drain()
    await echoing

    assert echoed.received == 10  # it waited for every frame that came back
    assert lost.given_up == 3  # and gave up on the ones that did not, once echoes stopped
    assert stairs.in_flight() == 0
    assert stairs.caught_up()
    assert paused_for >= 0.2
    assert stairs.run.flowing.is_set()


async def test_a_drain_with_nothing_in_flight_does_not_wait() -> None:
    stairs = Stairs(_args(drain_quiet_s=5.0), tokens=[])
    stairs.active = [Session(0, sent=10, received=10)]

    assert await stairs.drain() < 1.0
    assert stairs.run.flowing.is_set()


async def test_closing_the_clients_ends_streams_that_are_paused() -> None:
    stairs = Stairs(_args(), tokens=[])
    session = Session(0, ws=RecordingSocket())  # type: ignore[arg-type]
    stairs.run.sessions = stairs.active = [session]
    session.streamer = asyncio.create_task(stream(stairs.run, session, time.perf_counter(), None))
    await asyncio.sleep(0.05)
    stairs.run.flowing.clear()  # the parent's `pause`, then `quit`
    await asyncio.sleep(0.05)

    await asyncio.wait_for(stairs.close(), 5)

    assert session.streamer.done()


async def test_the_wait_for_a_server_to_catch_up_ends_once_its_backlog_grew_for_a_second() -> None:
    stairs = Stairs(_args(catch_up_s=3.0), tokens=[])
    session = Session(0, sent=10, received=0)
    stairs.active = [session]

    async def fall_behind() -> None:  # frames go out, none come back
        while True:
            await asyncio.sleep(0.05)
            session.sent += 1

    behind = asyncio.create_task(fall_behind())
    started = time.perf_counter()
    caught_up = await stairs.catch_up()
    waited = time.perf_counter() - started
    behind.cancel()

    assert caught_up is False
    assert 1.0 <= waited < 2.5  # not the whole 3 s


async def test_a_server_clearing_its_backlog_is_waited_for_until_it_has_caught_up() -> None:
    stairs = Stairs(_args(catch_up_s=5.0), tokens=[])
    session = Session(0, sent=40, received=0)
    stairs.active = [session]

    clearing = asyncio.create_task(_echo_backlog(session, every_s=0.05))  # 2 s to clear
    caught_up = await stairs.catch_up()
    await clearing

    assert caught_up is True
    assert session.sent - session.received <= 0.25
