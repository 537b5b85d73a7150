"""Text items, response.create and its overrides."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest

from realtime.simulator import RunningSimulator, run_simulator
from realtime.simulator.testing import SimulatorClient, fast_config, of_type, open_client, user_text


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with run_simulator(fast_config()) as running:
        yield running


async def create_item(client: SimulatorClient, item: dict, **fields) -> dict:
    await client.send("conversation.item.create", item=item, **fields)
    added = await client.expect("conversation.item.added")
    await client.expect("conversation.item.done")
    return added


async def test_a_text_item_is_acknowledged_with_added_then_done(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("conversation.item.create", item=user_text("Hello there"))
        added = await client.expect("conversation.item.added")
        done = await client.expect("conversation.item.done")
    assert added["previous_item_id"] is None
    assert added["item"] == done["item"]
    assert added["item"]["content"] == [{"type": "input_text", "text": "Hello there"}]
    assert added["item"]["id"].startswith("item_")


async def test_a_text_turn_answers_with_what_was_said(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        instructions = (await client.recv())["session"]["instructions"]
        await create_item(client, user_text("Hello there"))
        await client.send("response.create")
        events = await client.recv_until("rate_limits.updated")
    done = of_type(events, "response.done")[0]["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["content"] == [{"type": "output_audio", "transcript": "You said: Hello there."}]
    assert done["usage"]["input_token_details"]["text_tokens"] == (
        math.ceil(len(instructions) / 4) + math.ceil(len("Hello there") / 4)
    )
    assert done["usage"]["input_token_details"]["audio_tokens"] == 0


async def test_text_output_uses_output_text_events(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("session.update", session={"type": "realtime", "output_modalities": ["text"]})
        await client.expect("session.updated")
        await create_item(client, user_text("Hi"))
        await client.send("response.create")
        events = await client.recv_until("response.done")
    deltas = of_type(events, "response.output_text.delta")
    assert "".join(delta["delta"] for delta in deltas) == "You said: Hi."
    assert of_type(events, "response.output_text.done")[0]["text"] == "You said: Hi."
    assert of_type(events, "response.content_part.added")[0]["part"] == {"type": "text", "text": ""}
    assert not [event for event in events if "audio" in event["type"]]
    done = events[-1]["response"]
    assert done["output_modalities"] == ["text"]
    assert done["output"][0]["content"] == [{"type": "output_text", "text": "You said: Hi."}]
    assert done["usage"]["output_token_details"]["audio_tokens"] == 0


async def test_response_create_can_override_modalities(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await create_item(client, user_text("Hi"))
        await client.send("response.create", response={"output_modalities": ["text"], "metadata": {"k": "v"}})
        events = await client.recv_until("response.done")
    assert of_type(events, "response.output_text.done")
    assert events[-1]["response"]["metadata"] == {"k": "v"}


async def test_previous_item_id_root_inserts_at_the_start(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        first = await create_item(client, user_text("First"))
        second = await create_item(client, user_text("Second"), previous_item_id="root")
        third = await create_item(client, user_text("Third"), previous_item_id=second["item"]["id"])
        await client.send("response.create")
        events = await client.recv_until("response.done")
    assert second["previous_item_id"] is None
    assert third["previous_item_id"] == second["item"]["id"]
    # Order is now Second, Third, First: the newest user item in the conversation is "First".
    assert events[-1]["response"]["output"][0]["content"][0]["transcript"] == "You said: First."
    assert first["previous_item_id"] is None


async def test_an_unknown_previous_item_id_is_refused(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("conversation.item.create", item=user_text("Hi"), previous_item_id="item_nope")
        error = (await client.expect("error"))["error"]
    assert error["param"] == "previous_item_id"


async def test_history_can_be_replayed_with_assistant_and_system_items(sim: RunningSimulator) -> None:
    assistant = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi!"}]}
    system = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Be kind."}]}
    async with open_client(sim) as client:
        await client.recv()
        await create_item(client, system)
        await create_item(client, user_text("Hello"))
        replayed = await create_item(client, assistant)
        await create_item(client, user_text("And again"))
    assert replayed["item"]["role"] == "assistant"
    assert replayed["item"]["content"] == [{"type": "output_text", "text": "Hi!"}]


async def test_an_assistant_item_with_user_content_is_refused(sim: RunningSimulator) -> None:
    item = {"type": "message", "role": "assistant", "content": [{"type": "input_text", "text": "x"}]}
    async with open_client(sim) as client:
        await client.recv()
        await client.send("conversation.item.create", item=item)
        error = (await client.expect("error"))["error"]
    assert error["code"] == "invalid_value"
    assert error["param"] == "item.content[0].type"


async def test_an_item_without_a_type_is_refused(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("conversation.item.create", item={"role": "user", "content": []})
        error = (await client.expect("error"))["error"]
    assert error["message"] == "Missing required parameter: 'item.type'."


async def test_an_out_of_band_response_stays_out_of_the_conversation(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await create_item(client, user_text("Hi"))
        await client.send("response.create", response={"conversation": "none"})
        events = await client.recv_until("response.done")
    assert events[-1]["response"]["conversation_id"] is None
    assert not of_type(events, "conversation.item.added")
    assert not of_type(events, "conversation.item.done")


async def test_response_input_replaces_the_conversation_as_context(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await create_item(client, user_text("In the conversation"))
        await client.send(
            "response.create", response={"conversation": "none", "input": [user_text("Only this")]}
        )
        events = await client.recv_until("response.done")
    assert events[-1]["response"]["output"][0]["content"][0]["transcript"] == "You said: Only this."


async def test_an_empty_conversation_gets_a_greeting(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("response.create")
        events = await client.recv_until("response.done")
    assert (
        events[-1]["response"]["output"][0]["content"][0]["transcript"] == "Hello! How can I help you today?"
    )


async def test_items_can_be_retrieved_and_deleted(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        item_id = (await create_item(client, user_text("Hi")))["item"]["id"]
        await client.send("conversation.item.retrieve", item_id=item_id)
        retrieved = await client.expect("conversation.item.retrieved")
        await client.send("conversation.item.delete", item_id=item_id)
        deleted = await client.expect("conversation.item.deleted")
        await client.send("conversation.item.delete", item_id=item_id)
        error = (await client.expect("error"))["error"]
    assert retrieved["item"]["id"] == item_id
    assert deleted["item_id"] == item_id
    assert error["code"] == "item_delete_invalid_item_id"


async def test_the_voice_cannot_change_after_assistant_audio(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await create_item(client, user_text("Hi"))
        await client.send("response.create")
        await client.recv_until("rate_limits.updated")
        await client.send(
            "session.update", session={"type": "realtime", "audio": {"output": {"voice": "ash"}}}
        )
        error = (await client.expect("error"))["error"]
    assert error == {
        "type": "invalid_request_error",
        "code": "cannot_update_voice",
        "message": "Cannot update a conversation's voice if assistant audio is present.",
        "param": None,
        "event_id": None,
    }
