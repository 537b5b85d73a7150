"""The floor: a byte-for-byte TCP forwarder, for what one more process hop costs on this machine.

It parses nothing (the WebSocket handshake and frames pass through untouched), so its added
delay is the price of two more loopback hops, the wake-ups of another core and an event loop,
which every relay pays before doing any work of its own.

    python -m bench.tcp_proxy --port 9000 --upstream-port 8765
"""

from __future__ import annotations

import argparse
import asyncio


class Pipe(asyncio.Protocol):
    """One direction's sink: whatever arrives is written to the peer at once."""

    peer: asyncio.Transport | None = None

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffered: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.peer is None:
            self.buffered.append(data)
        else:
            self.peer.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            self.peer.close()


async def serve(port: int, upstream_port: int) -> None:
    loop = asyncio.get_running_loop()

    class Downstream(Pipe):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            self.opening = loop.create_task(self.open_upstream())

        async def open_upstream(self) -> None:
            upstream_transport, upstream = await loop.create_connection(Pipe, "127.0.0.1", upstream_port)
            upstream.peer = self.transport
            self.peer = upstream_transport  # type: ignore[assignment]
            for data in self.buffered:
                upstream_transport.write(data)
            self.buffered.clear()

    server = await loop.create_server(Downstream, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.upstream_port))


if __name__ == "__main__":
    main()
