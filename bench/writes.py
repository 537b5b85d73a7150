"""What persistence costs per turn: the recorder's writes for one full turn, timed in isolation.

The relay queues six service calls for each of the stand-in's full turns (two turns added, two
completed, two usage reports); this applies exactly those as the recorder's writer does
(`realtime.recorder._write_all`), against a fresh database, and prints one JSON line: queries and
CPU milliseconds per turn when every write has its own transaction (events far apart, a quiet
server), when a turn's writes share one (one session's turn alone), when a turn of each of 25
sessions does (a busy worker: the writer takes everything queued meanwhile, from every session),
and when, as in a real conversation and the stand-in's turns, a turn's writes come at three
moments (the user's and the answer's turns added when the user stops; the user's transcript with
its usage; the answer completed with its usage) and each transaction holds one such part of a
turn of each of 25 sessions: a turn completed then is one stored already, read and updated.
Conversation ids go as text, as the relay passes them, and the collector has a worker's settings.

python -m bench.writes --database sqlite:///bench/results/writes.sqlite3 [--turns 300]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

SESSIONS = 25


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.writes", description=__doc__)
    parser.add_argument("--database", required=True, help="a DATABASE_URL; its tables are created")
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args(argv)
    os.environ["DATABASE_URL"] = args.database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from voiceproject.garbage import tune_for_worker

    call_command("migrate", verbosity=0)
    writes = turn_writes()
    tune_for_worker(settings.WORKER_GC_THRESHOLD)  # the collector as a worker has it (voiceproject/asgi.py)
    result: dict[str, Any] = {"database": connection.vendor}
    modes = (("each_write", 0, False), ("turn", 1, False), ("sessions", SESSIONS, False))
    for name, per_batch, spread in (*modes, ("spread", SESSIONS, True)):
        turns = max(per_batch, 1)
        base = (len(result) + 1) * 10_000_000  # each mode's item ids apart from the others'
        with CaptureQueriesContext(connection) as queries:
            writes(base, turns, per_batch, spread=spread)
        result[f"queries_per_turn_{name}"] = round(len(queries.captured_queries) / turns, 2)
        writes(base + 100_000, 20 * turns, per_batch, spread=spread)  # warm-up
        started = time.process_time()
        writes(base + 1_000_000, args.turns, per_batch, spread=spread)
        result[f"cpu_ms_per_turn_{name}"] = (time.process_time() - started) / args.turns * 1000
    print(json.dumps(result))
    return 0


def turn_writes() -> Any:
    """A function writing `count` turns numbered from `first`, `per_batch` turns per transaction.

    The turns of one transaction go to as many conversations, one each, as the sessions of a busy
    worker would write them.
    """
    from django.contrib.auth import get_user_model

    from bench.standin import TRANSCRIPTION_USAGE, USAGE
    from conversations import services
    from realtime.recorder import Recorder, _write_all

    user, _ = get_user_model().objects.get_or_create(username="bench-writes")
    # As text, as the relay passes them.
    conversations = [
        str(services.conversation_start(owner=user, provider="openai", model="gpt-realtime").pk)
        for _ in range(SESSIONS)
    ]
    recorders = [Recorder() for _ in conversations]

    def one_turn(n: int) -> list[tuple[Any, dict[str, Any]]]:
        """The service calls RelaySession queues for one of the stand-in's full turns."""
        cid = conversations[n % SESSIONS]
        user_item, assistant_item, response = f"item_{n}_user", f"item_{n}", f"resp_{n}"
        return [
            (
                services.message_add,
                {"conversation_id": cid, "item_id": user_item, "role": "user", "kind": "audio"},
            ),
            (
                services.message_complete,
                {"conversation_id": cid, "item_id": user_item, "role": "user", "text": f"User turn {n}."},
            ),
            (
                services.usage_record,
                {
                    "conversation_id": cid,
                    "upstream_id": user_item,
                    "kind": "transcription",
                    "usage": TRANSCRIPTION_USAGE,
                    "status": "completed",
                    "model": "gpt-4o-transcribe",
                },
            ),
            (
                services.message_add,
                {"conversation_id": cid, "item_id": assistant_item, "role": "assistant", "kind": "audio"},
            ),
            (
                services.message_complete,
                {
                    "conversation_id": cid,
                    "item_id": assistant_item,
                    "role": "assistant",
                    "text": f"Echo turn {n}.",
                    "audio_duration_ms": 2000,
                },
            ),
            (
                services.usage_record,
                {
                    "conversation_id": cid,
                    "upstream_id": response,
                    "kind": "response",
                    "usage": USAGE,
                    "status": "completed",
                },
            ),
        ]

    def write(first: int, count: int, per_batch: int, *, spread: bool = False) -> None:
        """Turns `first`... in transactions of `per_batch` turns each (0: of one write each).

        `spread`: each session's turns in parts, as they come (see the module's docstring); a
        transaction holds one part of every session's, so the sessions' turns are in step.
        """
        if spread:
            per_session = -(-count // SESSIONS)
            parts: list[list[tuple[Recorder, tuple[Any, dict[str, Any]]]]] = [
                [] for _ in range(3 * per_session)
            ]
            for session in range(SESSIONS):
                for k in range(per_session):
                    turn = [(recorders[session], w) for w in one_turn(first + session + SESSIONS * k)]
                    parts[3 * k] += [turn[0], turn[3]]  # the user's and the answer's turns added
                    parts[3 * k + 1] += turn[1:3]  # the user's transcript, with its usage
                    parts[3 * k + 2] += turn[4:]  # the answer completed, with its usage
            for part in parts:
                _write_all(part, {})
            return
        if per_batch == 0:
            for n in range(first, first + count):
                for entry in one_turn(n):
                    _write_all([(recorders[n % SESSIONS], entry)], {})
            return
        for start in range(first, first + count, per_batch):
            turns = range(start, min(start + per_batch, first + count))
            _write_all([(recorders[n % SESSIONS], w) for n in turns for w in one_turn(n)], {})

    return write


if __name__ == "__main__":
    raise SystemExit(main())
