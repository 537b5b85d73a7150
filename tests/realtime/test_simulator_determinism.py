"""The same seed gives the same ids and transcripts; different connections get different ids."""

from __future__ import annotations

import re

from realtime.simulator import run_simulator
from realtime.simulator.testing import fast_config, open_client, silence, tone

IDS = re.compile(r"\b(?:sess|conv|item|resp)_[A-Za-z0-9]{21}\b")


async def record_turn(seed: int) -> tuple[list[str], list[str]]:
    config = fast_config(seed=seed, user_transcripts=["Good morning"])
    async with run_simulator(config) as sim, open_client(sim) as client:
        created = await client.recv()
        await client.send(
            "session.update",
            session={"type": "realtime", "audio": {"input": {"transcription": {"model": "x"}}}},
        )
        await client.expect("session.updated")
        await client.send_audio(silence(300) + tone(700) + silence(400))
        events = await client.collect(
            "response.done", "conversation.item.input_audio_transcription.completed"
        )
    texts = sorted(
        e.get("transcript")
        for e in events
        if e["type"].endswith("transcript.done") or e["type"].endswith("completed")
    )
    ids = IDS.findall(str(created)) + sorted(set(IDS.findall(str(events))))
    return ids, texts


async def test_the_same_seed_gives_the_same_ids_and_transcripts() -> None:
    assert await record_turn(seed=7) == await record_turn(seed=7)


async def test_a_different_seed_gives_different_ids() -> None:
    ids_one, texts_one = await record_turn(seed=1)
    ids_two, texts_two = await record_turn(seed=2)
    assert texts_one == texts_two
    assert not set(ids_one) & set(ids_two)


async def test_successive_connections_get_different_session_ids() -> None:
    async with run_simulator(fast_config()) as sim:
        async with open_client(sim) as client:
            first = (await client.recv())["session"]["id"]
        async with open_client(sim) as client:
            second = (await client.recv())["session"]["id"]
    assert first != second


async def test_the_first_event_id_is_reproducible() -> None:
    event_ids = []
    for _ in range(2):
        async with run_simulator(fast_config(seed=3)) as sim, open_client(sim) as client:
            event_ids.append((await client.recv())["event_id"])
    assert event_ids[0] == event_ids[1]
