"""Overlapping responses, response.cancel and barge-in (protocol §2, §4)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from realtime.simulator import RunningSimulator, run_simulator
from realtime.simulator.testing import (
    SimulatorClient,
    fast_config,
    of_type,
    open_client,
    silence,
    tone,
    user_text,
)

ANSWER = "You said: Tell me a story about a lighthouse keeper."


@pytest.fixture
async def slow_sim() -> AsyncIterator[RunningSimulator]:
    # Half real time: a response is still generating for seconds, so interruptions land mid-answer.
    async with run_simulator(fast_config(realtime_factor=0.5)) as running:
        yield running


async def start_answer(client: SimulatorClient) -> list[dict]:
    await client.recv()
    await client.send(
        "conversation.item.create", item=user_text("Tell me a story about a lighthouse keeper.")
    )
    await client.recv_until("conversation.item.done")
    await client.send("response.create")
    return await client.recv_until("response.output_audio.delta")


async def test_a_second_response_create_is_refused_while_one_is_active(slow_sim: RunningSimulator) -> None:
    async with open_client(slow_sim) as client:
        started = await start_answer(client)
        await client.send("response.create", event_id="evt_again")
        events = await client.recv_until("error")
        await client.send("response.cancel")
        await client.recv_until("response.done")
    response_id = of_type(started, "response.created")[0]["response"]["id"]
    error = events[-1]["error"]
    assert error["code"] == "conversation_already_has_active_response"
    assert error["message"].startswith(
        f"Conversation already has an active response in progress: {response_id}"
    )
    assert error["event_id"] == "evt_again"


async def test_cancelling_without_an_active_response_is_a_harmless_error() -> None:
    async with run_simulator(fast_config()) as sim, open_client(sim) as client:
        await client.recv()
        await client.send("response.cancel", event_id="evt_cancel")
        error = (await client.expect("error"))["error"]
        await client.send("input_audio_buffer.clear")
        after = await client.recv()
    assert error == {
        "type": "invalid_request_error",
        "code": "response_cancel_not_active",
        "message": "Cancellation failed: no active response found",
        "param": None,
        "event_id": "evt_cancel",
    }
    assert after["type"] == "input_audio_buffer.cleared"


async def test_cancelling_an_active_response_closes_its_parts_and_reports_usage(
    slow_sim: RunningSimulator,
) -> None:
    async with open_client(slow_sim) as client:
        await start_answer(client)
        await client.send("response.cancel")
        events = await client.recv_until("rate_limits.updated")
    closing = [event["type"] for event in events if not event["type"].endswith(".delta")]
    assert closing == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
        "rate_limits.updated",
    ]
    transcript = of_type(events, "response.output_audio_transcript.done")[0]["transcript"]
    response = of_type(events, "response.done")[0]["response"]
    assert ANSWER.startswith(transcript)
    assert len(transcript) < len(ANSWER)
    assert response["status"] == "cancelled"
    assert response["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert response["output"][0]["status"] == "incomplete"
    assert response["output"][0]["content"][0]["transcript"] == transcript
    assert response["usage"]["output_token_details"]["audio_tokens"] > 0


async def test_cancelling_by_response_id_works_too(slow_sim: RunningSimulator) -> None:
    async with open_client(slow_sim) as client:
        started = await start_answer(client)
        response_id = of_type(started, "response.created")[0]["response"]["id"]
        await client.send("response.cancel", response_id=response_id)
        events = await client.recv_until("response.done")
    assert events[-1]["response"]["status"] == "cancelled"


async def test_speech_during_a_response_cancels_it_as_turn_detected(slow_sim: RunningSimulator) -> None:
    async with open_client(slow_sim) as client:
        await start_answer(client)
        await client.send_audio(tone(300))
        events = await client.recv_until("rate_limits.updated")
        await client.send_audio(silence(300))
        after = await client.recv_until("response.created")
    kinds = [event["type"] for event in events]
    assert kinds.index("input_audio_buffer.speech_started") < kinds.index("response.output_audio.done")
    response = of_type(events, "response.done")[0]["response"]
    assert response["status"] == "cancelled"
    assert response["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    transcript = of_type(events, "response.output_audio_transcript.done")[0]["transcript"]
    assert ANSWER.startswith(transcript)
    assert response["usage"]["total_tokens"] > 0
    assert [event["type"] for event in after][:3] == [
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
    ]


async def test_speech_does_not_interrupt_when_interrupt_response_is_off(slow_sim: RunningSimulator) -> None:
    turn = {"type": "server_vad", "interrupt_response": False, "create_response": False}
    async with open_client(slow_sim) as client:
        await client.recv()
        await client.send(
            "session.update", session={"type": "realtime", "audio": {"input": {"turn_detection": turn}}}
        )
        await client.expect("session.updated")
        await client.send("conversation.item.create", item=user_text("Hi"))
        await client.send("response.create")
        await client.recv_until("response.output_audio.delta")
        await client.send_audio(tone(300))
        await client.recv_until("input_audio_buffer.speech_started")
        await client.send("response.cancel")
        events = await client.recv_until("response.done")
    assert events[-1]["response"]["status_details"]["reason"] == "client_cancelled"
