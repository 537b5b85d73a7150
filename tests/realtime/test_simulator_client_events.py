"""Malformed client events produce error events and leave the session open."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from realtime.simulator import RunningSimulator, run_simulator
from realtime.simulator.testing import PREVIEW_PATH, SimulatorClient, fast_config, open_client


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with run_simulator(fast_config()) as running:
        yield running


async def still_open(client: SimulatorClient) -> bool:
    await client.send("input_audio_buffer.clear")
    return (await client.recv())["type"] == "input_audio_buffer.cleared"


async def test_invalid_json_is_an_invalid_json_error(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.ws.send("not json")
        event = await client.expect("error")
        assert await still_open(client)
    assert event["event_id"].startswith("event_")
    assert event["error"]["code"] == "invalid_json"
    assert event["error"]["type"] == "invalid_request_error"


async def test_a_binary_frame_is_an_invalid_event_error(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.ws.send(b"\x00\x01")
        error = (await client.expect("error"))["error"]
        assert await still_open(client)
    assert error["code"] == "invalid_event"
    assert error["message"] == "Expected a text WebSocket message; binary frames are not supported."


async def test_a_missing_type_is_an_invalid_event_error(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.ws.send(json.dumps({"event_id": "evt_1"}))
        error = (await client.expect("error"))["error"]
        assert await still_open(client)
    assert error == {
        "type": "invalid_request_error",
        "code": "invalid_event",
        "message": "The 'type' field is missing.",
        "param": None,
        "event_id": "evt_1",
    }


async def test_an_unknown_type_lists_the_supported_events(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("nope")
        error = (await client.expect("error"))["error"]
        assert await still_open(client)
    assert error["code"] == "invalid_value"
    assert error["param"] == "type"
    assert error["message"].startswith("Invalid value: 'nope'. Supported values are: 'session.update', ")
    assert error["message"].endswith("'response.create', and 'response.cancel'.")


async def test_a_json_array_is_an_invalid_event_error(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.ws.send("[1, 2]")
        error = (await client.expect("error"))["error"]
    assert error["code"] == "invalid_event"


async def test_beta_routes_do_not_accept_ga_only_events(sim: RunningSimulator) -> None:
    async with open_client(sim, PREVIEW_PATH) as client:
        await client.recv()
        await client.send("session.close")
        error = (await client.expect("error"))["error"]
    assert error["code"] == "invalid_value"


async def test_a_session_update_without_a_session_object_is_refused(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("session.update")
        error = (await client.expect("error"))["error"]
    assert error["code"] == "missing_required_parameter"
    assert error["param"] == "session"


async def test_wrongly_typed_fields_are_reported_with_their_path(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("session.update", session={"type": "realtime", "instructions": 5})
        error = (await client.expect("error"))["error"]
    assert error["code"] == "invalid_type"
    assert error["message"] == (
        "Invalid type for 'session.instructions': expected a string, but got an integer instead."
    )
