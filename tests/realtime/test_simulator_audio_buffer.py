"""input_audio_buffer append, commit and clear, with and without server VAD."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from realtime.simulator import RunningSimulator, run_simulator
from realtime.simulator.testing import SimulatorClient, b64, fast_config, open_client, silence, tone

MANUAL = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with run_simulator(fast_config()) as running:
        yield running


async def manual_turns(client: SimulatorClient) -> None:
    await client.recv()
    await client.send("session.update", session=MANUAL)
    await client.expect("session.updated")


async def test_committing_an_empty_buffer_is_refused_with_the_measured_length(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("input_audio_buffer.commit", event_id="evt_commit_1")
        error = (await client.expect("error"))["error"]
    assert error == {
        "type": "invalid_request_error",
        "code": "input_audio_buffer_commit_empty",
        "message": "Error committing input audio buffer: buffer too small. "
        "Expected at least 100ms of audio, but buffer only has 0.00ms of audio.",
        "param": None,
        "event_id": "evt_commit_1",
    }


async def test_committing_less_than_100_ms_is_refused_and_nothing_is_committed(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await manual_turns(client)
        await client.send_audio(silence(50))
        await client.send("input_audio_buffer.commit")
        error = (await client.expect("error"))["error"]
        await client.send("input_audio_buffer.clear")
        after = await client.recv()
    assert error["message"].endswith("but buffer only has 50.00ms of audio.")
    assert after["type"] == "input_audio_buffer.cleared"


async def test_committing_100_ms_creates_a_user_audio_item(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await manual_turns(client)
        await client.send_audio(silence(100))
        await client.send("input_audio_buffer.commit")
        committed = await client.expect("input_audio_buffer.committed")
        added = await client.expect("conversation.item.added")
        done = await client.expect("conversation.item.done")
    assert committed["previous_item_id"] is None
    assert added["item"]["id"] == committed["item_id"] == done["item"]["id"]
    assert added["item"]["content"] == [{"type": "input_audio", "transcript": None}]


async def test_a_manual_commit_does_not_start_a_response(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await manual_turns(client)
        await client.send_audio(tone(500))
        await client.send("input_audio_buffer.commit")
        events = await client.recv_until("conversation.item.done")
        await client.send("input_audio_buffer.clear")
        after = await client.recv()
    assert [event["type"] for event in events] == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert after["type"] == "input_audio_buffer.cleared"


async def test_without_turn_detection_speech_is_not_detected(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await manual_turns(client)
        await client.send_audio(silence(300) + tone(800) + silence(800))
        await client.send("input_audio_buffer.clear")
        after = await client.recv()
    assert after["type"] == "input_audio_buffer.cleared"


async def test_clearing_empties_the_buffer(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await manual_turns(client)
        await client.send_audio(silence(300))
        await client.send("input_audio_buffer.clear")
        await client.expect("input_audio_buffer.cleared")
        await client.send("input_audio_buffer.commit")
        error = (await client.expect("error"))["error"]
    assert error["code"] == "input_audio_buffer_commit_empty"


async def test_bad_base64_is_refused(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("input_audio_buffer.append", audio="not base64!")
        error = (await client.expect("error"))["error"]
    assert error["code"] == "invalid_value"
    assert error["param"] == "audio"


async def test_an_append_without_audio_is_refused(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("input_audio_buffer.append")
        error = (await client.expect("error"))["error"]
    assert error["code"] == "missing_required_parameter"


async def test_an_append_over_15_mib_is_refused(sim: RunningSimulator) -> None:
    async with open_client(sim, max_size=None) as client:
        await client.recv()
        await client.send("input_audio_buffer.append", audio=b64(bytes(15 * 1024 * 1024 + 2)))
        error = (await client.expect("error"))["error"]
    assert error["code"] == "invalid_value"
    assert "15 MiB" in error["message"]


async def test_a_manual_commit_then_response_create_drives_a_turn(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await manual_turns(client)
        await client.send_audio(tone(1200))
        await client.send("input_audio_buffer.commit")
        await client.recv_until("conversation.item.done")
        await client.send("response.create")
        events = await client.recv_until("response.done")
    done = events[-1]["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0]["transcript"] == "I heard you speak for 1.2 seconds."
