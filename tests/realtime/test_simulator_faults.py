"""Fault switches: each makes the simulator misbehave in one realistic way."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtime.simulator import run_simulator
from realtime.simulator.testing import SimulatorClient, fast_config, open_client, silence, tone, user_text

TRANSCRIBED = {"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}}


async def read_until_closed(client: SimulatorClient, events: list[dict]) -> None:
    while True:
        events.append(await client.recv())


async def test_refuse_auth_answers_401_until_switched_off() -> None:
    async with run_simulator(fast_config(refuse_auth=True)) as sim:
        with pytest.raises(InvalidStatus) as refused:
            async with open_client(sim):
                pass
        sim.config.refuse_auth = False
        async with open_client(sim) as client:
            first = await client.recv()
    assert refused.value.response.status_code == 401
    assert first["type"] == "session.created"


async def test_close_mid_response_drops_the_connection_during_the_first_answer() -> None:
    async with run_simulator(fast_config(close_mid_response=True)) as sim, open_client(sim) as client:
        await client.recv()
        await client.send("conversation.item.create", item=user_text("Hi"))
        await client.send("response.create")
        events: list[dict] = []
        with pytest.raises(ConnectionClosed) as closed:
            await read_until_closed(client, events)
    kinds = [event["type"] for event in events]
    assert closed.value.rcvd.code == 1011
    assert "response.output_audio.delta" in kinds
    assert "response.done" not in kinds


async def test_error_after_session_created_is_sent_second() -> None:
    fault = {"type": "server_error", "code": None, "message": "Simulated outage.", "param": None}
    async with (
        run_simulator(fast_config(error_after_session_created=fault)) as sim,
        open_client(sim) as client,
    ):
        first = await client.recv()
        second = await client.recv()
    assert first["type"] == "session.created"
    assert second["type"] == "error"
    assert second["error"] == fault


async def test_error_after_session_created_accepts_a_whole_error_event() -> None:
    event = {
        "type": "error",
        "error": {"type": "invalid_request_error", "code": "x", "message": "m", "param": None},
    }
    async with (
        run_simulator(fast_config(error_after_session_created=event)) as sim,
        open_client(sim) as client,
    ):
        await client.recv()
        second = await client.recv()
    assert second["error"] == event["error"]


async def test_slow_response_waits_before_the_first_delta() -> None:
    # With a 60 s delay, a cancel right after the part opens proves no delta came first.
    async with run_simulator(fast_config(slow_response_s=60)) as sim, open_client(sim) as client:
        await client.recv()
        await client.send("conversation.item.create", item=user_text("Hi"))
        await client.send("response.create")
        await client.recv_until("response.content_part.added")
        await client.send("response.cancel")
        events = await client.recv_until("response.done")
    assert not [event for event in events if event["type"].endswith(".delta")]
    assert events[-1]["response"]["status"] == "cancelled"
    assert events[-1]["response"]["usage"]["output_tokens"] == 0


async def test_session_max_s_expires_the_session_with_an_error_and_close() -> None:
    async with run_simulator(fast_config(session_max_s=0.2)) as sim, open_client(sim) as client:
        await client.recv()
        event = await client.expect("error")
        with pytest.raises(ConnectionClosed) as closed:
            await client.recv()
    assert event["error"]["code"] == "session_expired"
    assert event["error"]["message"] == "Your session hit the maximum duration of 0.2 seconds."
    assert closed.value.rcvd.code == 4000


async def test_fail_transcription_sends_failed_instead_of_completed() -> None:
    async with run_simulator(fast_config(fail_transcription=True)) as sim, open_client(sim) as client:
        await client.recv()
        await client.send("session.update", session=TRANSCRIBED)
        await client.expect("session.updated")
        await client.send_audio(tone(600) + silence(300))
        events = await client.collect("response.done", "conversation.item.input_audio_transcription.failed")
    failed = next(e for e in events if e["type"] == "conversation.item.input_audio_transcription.failed")
    committed = next(e for e in events if e["type"] == "input_audio_buffer.committed")
    assert failed["item_id"] == committed["item_id"]
    assert failed["content_index"] == 0
    assert failed["error"] == {
        "type": "transcription_error",
        "code": "audio_unintelligible",
        "message": "The audio could not be transcribed.",
        "param": None,
    }
    assert not [e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"]


async def test_faults_are_read_when_a_connection_opens() -> None:
    async with run_simulator(fast_config()) as sim, open_client(sim) as client:
        await client.recv()
        sim.config.close_mid_response = True  # too late for this connection
        await client.send("conversation.item.create", item=user_text("Hi"))
        await client.send("response.create")
        events = await client.recv_until("response.done")
    assert events[-1]["response"]["status"] == "completed"
