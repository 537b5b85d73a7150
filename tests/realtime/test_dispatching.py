"""The consumer message loop: browser messages in the consumer's task, layer messages beside it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

from realtime.dispatching import DirectDispatchMixin

# Channels' dispatch of layer messages checks the database connections first.
pytestmark = pytest.mark.django_db(transaction=True)


class Recorder(DirectDispatchMixin, AsyncConsumer):
    """Notes when each handler starts and ends; `layer.slow` holds the loop for a while."""

    log: list[str]

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.log = []
        await self.send({"type": "websocket.accept", "subprotocol": self.channel_name})

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        self.log.append(f"browser {message['text']}")
        await self.send({"type": "websocket.send", "text": ",".join(self.log)})

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        raise StopConsumer

    async def layer_slow(self, message: dict[str, Any]) -> None:
        self.log.append("slow start")
        await asyncio.sleep(0.05)
        self.log.append("slow end")

    async def layer_fail(self, message: dict[str, Any]) -> None:
        raise RuntimeError("handler failed")

    async def layer_stop(self, message: dict[str, Any]) -> None:
        raise StopConsumer


async def connected() -> tuple[ApplicationCommunicator, str]:
    communicator = ApplicationCommunicator(Recorder.as_asgi(), {"type": "websocket", "path": "/"})
    await communicator.send_input({"type": "websocket.connect"})
    accepted = await communicator.receive_output(1)
    return communicator, accepted["subprotocol"]


async def test_browser_and_layer_messages_both_reach_their_handlers_one_at_a_time() -> None:
    communicator, channel = await connected()

    await get_channel_layer().send(channel, {"type": "layer.slow"})
    await asyncio.sleep(0.01)  # the slow handler is running
    await communicator.send_input({"type": "websocket.receive", "text": "hello"})
    sent = await communicator.receive_output(1)

    assert sent["text"] == "slow start,slow end,browser hello"
    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    await communicator.wait(1)


async def test_browser_messages_make_no_task_each() -> None:
    loop = asyncio.get_running_loop()
    created = 0
    previous = loop.get_task_factory()

    def counting(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        nonlocal created
        created += 1
        return asyncio.Task(coro, loop=loop, **kwargs)

    communicator, _ = await connected()
    loop.set_task_factory(counting)
    try:
        for n in range(50):
            await communicator.send_input({"type": "websocket.receive", "text": str(n)})
            await communicator.receive_output(1)
    finally:
        loop.set_task_factory(previous)

    assert created == 0
    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    await communicator.wait(1)


async def test_a_failing_layer_handler_ends_the_consumer_with_its_error() -> None:
    communicator, channel = await connected()

    await get_channel_layer().send(channel, {"type": "layer.fail"})

    with pytest.raises(RuntimeError, match="handler failed"):
        await communicator.wait(1)


async def test_a_failing_channel_layer_ends_the_consumer_with_its_error(monkeypatch: Any) -> None:
    async def gone(layer: Any, channel: str) -> None:
        raise ConnectionError("layer gone")

    monkeypatch.setattr(type(get_channel_layer()), "receive", gone)
    communicator = ApplicationCommunicator(Recorder.as_asgi(), {"type": "websocket", "path": "/"})

    with pytest.raises(ConnectionError, match="layer gone"):
        await communicator.wait(1)


async def test_a_layer_handler_that_stops_the_consumer_ends_it_cleanly() -> None:
    communicator, channel = await connected()

    await get_channel_layer().send(channel, {"type": "layer.stop"})

    await communicator.wait(1)  # returns without an error
    assert communicator.future.exception() is None


async def test_a_disconnect_ends_the_consumer_and_its_layer_listener() -> None:
    communicator, _ = await connected()
    before = {task.get_name() for task in asyncio.all_tasks()}
    assert "layer-listener" in before

    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    await communicator.wait(1)

    assert "layer-listener" not in {task.get_name() for task in asyncio.all_tasks()}


async def test_cancelling_the_consumer_from_outside_still_cancels_it() -> None:
    communicator, _ = await connected()

    communicator.future.cancel()

    with pytest.raises(asyncio.CancelledError):
        await communicator.future
    await asyncio.sleep(0)
    assert "layer-listener" not in {task.get_name() for task in asyncio.all_tasks()}
