"""The clients start beside the server under test and wait for it to listen."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bench.load import until_listening


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_clients_wait_until_the_server_listens() -> None:
    port = _free_port()

    async def start_late() -> asyncio.Server:
        await asyncio.sleep(0.3)
        return await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)

    late = asyncio.create_task(start_late())
    await asyncio.wait_for(until_listening(f"ws://127.0.0.1:{port}/ws/voice/"), 10)

    server = await late  # it was listening before the wait returned
    server.close()
    await server.wait_closed()


async def test_the_clients_give_up_on_a_server_that_never_listens() -> None:
    with pytest.raises(ConnectionRefusedError):
        await until_listening(f"ws://127.0.0.1:{_free_port()}/", timeout_s=0.3)
