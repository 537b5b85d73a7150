"""The upstream stand-in: just enough OpenAI GA to drive a relay, answering audio with an echo.

`session.created` on connect, `session.updated` after `session.update`, and every
`input_audio_buffer.append` answered at once by a `response.output_audio.delta` carrying the same
base64 audio, so a client can time each frame's round trip. The item id is stable per turn, so the
app sends one `assistant.audio.start` and then binary frames.

A connection whose path contains `/turns/` also plays a GA turn every `--turn-ms` of audio it
received, its events in a real turn's order and spread over the turn as a conversation's are, so
the app relays and stores what it would and a turn's writes reach it at different moments. At the
turn's start `speech_started` (after the previous answer's parts close: audio, transcript, content
part, output item and item done, then `response.done` with usage); a fifth of the turn later the
user stops (`speech_stopped`, `committed`, the user item added and done) and the answer starts
(`response.created`, its output item, the assistant item added, its content part); at 35% the
user's transcription completes, with usage; while the answer plays, a transcript delta for every
300 ms of its audio. The echo carries the current turn's item and response ids. Under
`/turns-every-<ms>/` the turns come after that much audio instead of `--turn-ms`. Each
connection's first turn comes after a random share of `--turn-ms` (seeded by the connection's
number), so sessions' turns are spread as independent conversations' are; under `/turns-aligned/`
every connection's turns come after exactly `--turn-ms`, so sessions that started together all
start their turns in the same moment.

    python -m bench.standin --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import re
from itertools import count
from typing import Any

import orjson
import uvloop
from websockets.asyncio.server import ServerConnection, serve

APPEND = "input_audio_buffer.append"
PCM_BYTES_PER_MS = 48
USAGE = {
    "total_tokens": 253,
    "input_tokens": 132,
    "output_tokens": 121,
    "input_token_details": {
        "text_tokens": 119,
        "audio_tokens": 13,
        "image_tokens": 0,
        "cached_tokens": 64,
        "cached_tokens_details": {"text_tokens": 64, "audio_tokens": 0, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 30, "audio_tokens": 91},
}
TRANSCRIPTION_USAGE = {
    "type": "tokens",
    "total_tokens": 22,
    "input_tokens": 13,
    "input_token_details": {"text_tokens": 0, "audio_tokens": 13},
    "output_tokens": 9,
}
_connections = count(1)
# Where a connection is in its turn: before its first, the user speaking, the answer playing (its
# user turn not transcribed yet, then transcribed).
NO_TURN, USER_SPEAKING, ANSWERING, TRANSCRIBED = "none", "user", "answer", "transcribed"
WORD_BYTES = 300 * PCM_BYTES_PER_MS  # a transcript delta per 300 ms of the answer's audio: a word
_TURNS_EVERY = re.compile(r"/turns-every-(\d{1,7})/")


def _session(session_id: str) -> dict[str, Any]:
    pcm = {"type": "audio/pcm", "rate": 24000}
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "audio": {"input": {"format": pcm}, "output": {"format": pcm, "voice": "marin"}},
    }


def _message(item_id: str, role: str, status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    """A GA conversation item of type message."""
    return {"id": item_id, "type": "message", "status": status, "role": role, "content": content}


class EchoSession:
    """One upstream connection."""

    def __init__(self, ws: ServerConnection, number: int, turn_ms: int, *, aligned: bool = False) -> None:
        self.ws = ws
        self.number = number
        self.turn_bytes = turn_ms * PCM_BYTES_PER_MS if turn_ms > 0 else 0
        self.turn = 0
        # Audio counted towards the first turn already: none when aligned, a random share otherwise.
        phase = 0.0 if aligned else random.Random(number).random()  # noqa: S311 (not for security)
        self.turn_received = int(self.turn_bytes * phase)
        self.stage = NO_TURN
        self.answer_received = 0
        self.words: list[str] = []
        self.events = count(1)
        self._prefix = ""
        self._new_turn_ids()

    def _new_turn_ids(self) -> None:
        self.turn += 1
        self.response_id = f"resp_{self.number}_{self.turn}"
        self.item_id = f"item_{self.number}_{self.turn}"
        self.user_item_id = f"item_{self.number}_{self.turn}_user"
        # The delta's envelope, built once per turn: only the audio changes from frame to frame.
        self._prefix = (
            '{"type":"response.output_audio.delta","event_id":"event_'
            + str(self.number)
            + '","response_id":"'
            + self.response_id
            + '","item_id":"'
            + self.item_id
            + '","output_index":0,"content_index":0,"delta":"'
        )

    async def run(self) -> None:
        """Serve until the client goes."""
        session_id = f"sess_{self.number}"
        await self._send({"type": "session.created", "session": _session(session_id)})
        async for raw in self.ws:
            if isinstance(raw, bytes):
                continue
            event = orjson.loads(raw)
            kind = event.get("type")
            if kind == APPEND:
                audio = event["audio"]
                await self.ws.send(self._prefix + audio + '"}')
                if self.turn_bytes:
                    await self._advance(len(audio) * 3 // 4)
            elif kind == "session.update":
                await self._send({"type": "session.updated", "session": _session(session_id)})

    async def _advance(self, received: int) -> None:
        """Count audio towards the turn; play the turn's events when their moment comes."""
        self.turn_received += received
        if self.stage in (ANSWERING, TRANSCRIBED):
            self.answer_received += received
            if self.answer_received >= WORD_BYTES:
                self.answer_received -= WORD_BYTES
                await self._word()
        if self.turn_received >= self.turn_bytes:
            self.turn_received = 0
            if self.stage in (ANSWERING, TRANSCRIBED):
                await self._answer_ends()
                self._new_turn_ids()
            self.stage = USER_SPEAKING
            await self._send(
                {
                    "type": "input_audio_buffer.speech_started",
                    "audio_start_ms": 0,
                    "item_id": self.user_item_id,
                }
            )
        elif self.stage == USER_SPEAKING and self.turn_received * 5 >= self.turn_bytes:
            await self._answer_starts()
        elif self.stage == ANSWERING and self.turn_received * 20 >= self.turn_bytes * 7:
            self.stage = TRANSCRIBED
            await self._send(
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    "item_id": self.user_item_id,
                    "content_index": 0,
                    "transcript": f"User turn {self.turn}.",
                    "usage": TRANSCRIPTION_USAGE,
                }
            )

    async def _answer_starts(self) -> None:
        """The user stops: the input is committed as the user's item and the answer begins."""
        self.stage = ANSWERING
        self.answer_received = 0
        self.words = []
        user = _message(self.user_item_id, "user", "completed", [{"type": "input_audio", "transcript": None}])
        assistant = _message(self.item_id, "assistant", "in_progress", [])
        for event in (
            {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 0, "item_id": self.user_item_id},
            {"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": self.user_item_id},
            {"type": "conversation.item.added", "previous_item_id": None, "item": user},
            {"type": "conversation.item.done", "previous_item_id": None, "item": user},
            {
                "type": "response.created",
                "response": {
                    "object": "realtime.response",
                    "id": self.response_id,
                    "status": "in_progress",
                    "output": [],
                },
            },
            {
                "type": "response.output_item.added",
                "response_id": self.response_id,
                "output_index": 0,
                "item": assistant,
            },
            {"type": "conversation.item.added", "previous_item_id": self.user_item_id, "item": assistant},
            {
                "type": "response.content_part.added",
                **self._part(),
                "part": {"type": "audio", "transcript": ""},
            },
        ):
            await self._send(event)

    def _part(self) -> dict[str, Any]:
        """What names the answer's one content part in the events about it."""
        return {
            "response_id": self.response_id,
            "item_id": self.item_id,
            "output_index": 0,
            "content_index": 0,
        }

    async def _word(self) -> None:
        """A word of the answer's transcript, as the audio plays."""
        word = f"word{len(self.words) + 1} "
        self.words.append(word)
        await self._send({"type": "response.output_audio_transcript.delta", **self._part(), "delta": word})

    async def _answer_ends(self) -> None:
        """The answer's parts close, then response.done with its usage."""
        text = "".join(self.words)
        item = _message(
            self.item_id, "assistant", "completed", [{"type": "output_audio", "transcript": text}]
        )
        for event in (
            {"type": "response.output_audio.done", **self._part()},
            {"type": "response.output_audio_transcript.done", **self._part(), "transcript": text},
            {
                "type": "response.content_part.done",
                **self._part(),
                "part": {"type": "audio", "transcript": text},
            },
            {
                "type": "response.output_item.done",
                "response_id": self.response_id,
                "output_index": 0,
                "item": item,
            },
            {"type": "conversation.item.done", "previous_item_id": self.user_item_id, "item": item},
            {
                "type": "response.done",
                "response": {
                    "object": "realtime.response",
                    "id": self.response_id,
                    "status": "completed",
                    "status_details": None,
                    "output": [item],
                    "usage": USAGE,
                },
            },
        ):
            await self._send(event)

    async def _send(self, event: dict[str, Any]) -> None:
        event = {**event, "event_id": f"event_{self.number}_{next(self.events)}"}
        await self.ws.send(orjson.dumps(event).decode())


async def handle(ws: ServerConnection, *, turn_ms: int) -> None:
    """One connection; `/turns/`, `/turns-aligned/` or `/turns-every-<ms>/` in the path plays full turns."""
    path = ws.request.path if ws.request is not None else ""
    aligned = "/turns-aligned/" in path
    every = _TURNS_EVERY.search(path)
    if every:
        turn_ms = int(every.group(1))
    turns = aligned or bool(every) or "/turns/" in path
    session = EchoSession(ws, next(_connections), turn_ms if turns else 0, aligned=aligned)
    try:
        await session.run()
    except Exception:  # a client vanishing mid-frame is normal at the end of a phase
        logging.getLogger(__name__).debug("connection %s ended", session.number, exc_info=True)


async def serve_forever(host: str, port: int, turn_ms: int) -> None:
    """Serve until killed; print the bound port on the first line of stdout."""
    async with serve(
        lambda ws: handle(ws, turn_ms=turn_ms),
        host,
        port,
        max_size=32 * 1024 * 1024,
        compression=None,
        ping_interval=None,
        backlog=4096,
    ) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--turn-ms", type=int, default=2000, help="audio per full turn on /turns/ paths")
    args = parser.parse_args()
    # uvloop and orjson, as in the app: the less the harness costs, the less it colours the numbers.
    uvloop.run(serve_forever(args.host, args.port, args.turn_ms))


if __name__ == "__main__":
    main()
