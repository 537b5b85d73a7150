"""Handshake, routing and authentication of the realtime simulator."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtime.simulator import RunningSimulator, SimulatorConfig, run_simulator
from realtime.simulator.testing import AZURE_GA_PATH, GA_PATH, PREVIEW_PATH, VOICE_LIVE_PATH, fast_config


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with run_simulator(fast_config(api_key="right-key")) as running:
        yield running


async def handshake_status(url: str, headers: dict[str, str] | None = None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers=headers or {}):
            pass
    return refused.value.response.status_code


async def first_event(url: str, headers: dict[str, str]) -> dict:
    async with connect(url, additional_headers=headers) as ws:
        return json.loads(await ws.recv())


async def test_it_reports_its_base_url_without_a_path(sim: RunningSimulator) -> None:
    assert sim.url.startswith("ws://127.0.0.1:")
    assert sim.url.count("/") == 2


async def test_it_serves_openai_ga_with_a_bearer_key(sim: RunningSimulator) -> None:
    event = await first_event(sim.url + GA_PATH, {"Authorization": "Bearer right-key"})
    assert event["type"] == "session.created"
    assert event["session"]["model"] == "gpt-realtime"


async def test_it_refuses_an_unknown_path_with_404(sim: RunningSimulator) -> None:
    assert (
        await handshake_status(sim.url + "/v2/realtime?model=x", {"Authorization": "Bearer right-key"}) == 404
    )


async def test_it_refuses_a_missing_key_with_401(sim: RunningSimulator) -> None:
    assert await handshake_status(sim.url + GA_PATH) == 401


async def test_it_refuses_a_wrong_key_with_401(sim: RunningSimulator) -> None:
    assert await handshake_status(sim.url + GA_PATH, {"Authorization": "Bearer wrong"}) == 401


async def test_it_answers_401_with_a_json_error_body(sim: RunningSimulator) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(sim.url + GA_PATH, additional_headers={"Authorization": "Bearer wrong"}):
            pass
    body = json.loads(refused.value.response.body)
    assert body["error"]["code"] == "invalid_api_key"


async def test_the_openai_route_ignores_an_api_key_header(sim: RunningSimulator) -> None:
    assert await handshake_status(sim.url + GA_PATH, {"api-key": "right-key"}) == 401


async def test_it_accepts_any_non_empty_key_when_none_is_configured() -> None:
    async with run_simulator(SimulatorConfig()) as sim:
        event = await first_event(sim.url + GA_PATH, {"Authorization": "Bearer anything"})
    assert event["type"] == "session.created"


@pytest.mark.parametrize("path", [AZURE_GA_PATH, PREVIEW_PATH, VOICE_LIVE_PATH])
async def test_azure_routes_accept_the_api_key_header(sim: RunningSimulator, path: str) -> None:
    event = await first_event(sim.url + path, {"api-key": "right-key"})
    assert event["type"] == "session.created"


@pytest.mark.parametrize("path", [AZURE_GA_PATH, PREVIEW_PATH, VOICE_LIVE_PATH])
async def test_azure_routes_accept_the_api_key_query_parameter(sim: RunningSimulator, path: str) -> None:
    event = await first_event(sim.url + path + "&api-key=right-key", {})
    assert event["type"] == "session.created"


@pytest.mark.parametrize("path", [AZURE_GA_PATH, PREVIEW_PATH, VOICE_LIVE_PATH])
async def test_azure_routes_accept_a_bearer_token(sim: RunningSimulator, path: str) -> None:
    event = await first_event(sim.url + path, {"Authorization": "Bearer right-key"})
    assert event["type"] == "session.created"


@pytest.mark.parametrize("path", [AZURE_GA_PATH, PREVIEW_PATH, VOICE_LIVE_PATH])
async def test_azure_routes_refuse_a_wrong_api_key(sim: RunningSimulator, path: str) -> None:
    assert await handshake_status(sim.url + path, {"api-key": "wrong"}) == 401


async def test_azure_ga_refuses_an_api_version_with_401(sim: RunningSimulator) -> None:
    url = sim.url + AZURE_GA_PATH + "&api-version=2025-04-01-preview"
    assert await handshake_status(url, {"api-key": "right-key"}) == 401


@pytest.mark.parametrize(
    "path",
    [
        "/openai/realtime?deployment=gpt-4o-realtime-preview",
        "/openai/realtime?api-version=2025-04-01-preview",
        "/voice-live/realtime?model=gpt-realtime",
    ],
)
async def test_azure_legacy_routes_need_their_query_parameters(sim: RunningSimulator, path: str) -> None:
    assert await handshake_status(sim.url + path, {"api-key": "right-key"}) == 400


async def test_the_beta_header_gets_the_shutdown_error_then_close_4000(sim: RunningSimulator) -> None:
    headers = {"Authorization": "Bearer right-key", "OpenAI-Beta": "realtime=v1"}
    async with connect(sim.url + GA_PATH, additional_headers=headers) as ws:
        event = json.loads(await ws.recv())
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert event == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "code": "beta_api_shape_disabled",
            "message": "The Realtime Beta API is no longer supported. "
            "Please use /v1/realtime for the GA API.",
            "param": None,
        },
    }
    assert closed.value.rcvd.code == 4000
    assert closed.value.rcvd.reason == "invalid_request_error.beta_api_shape_disabled"


async def test_a_missing_model_on_openai_is_an_error_then_close_4000(sim: RunningSimulator) -> None:
    async with connect(
        sim.url + "/v1/realtime", additional_headers={"Authorization": "Bearer right-key"}
    ) as ws:
        event = json.loads(await ws.recv())
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert event["error"]["code"] == "missing_model"
    assert closed.value.rcvd.code == 4000


async def test_it_can_report_bad_keys_after_the_upgrade_like_openai_does() -> None:
    config = fast_config(api_key="right-key", auth_error_after_upgrade=True)
    headers = {"Authorization": "Bearer wrong"}
    async with run_simulator(config) as sim, connect(sim.url + GA_PATH, additional_headers=headers) as ws:
        event = json.loads(await ws.recv())
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert event["error"]["code"] == "invalid_api_key"
    assert closed.value.rcvd.code == 3000
    assert closed.value.rcvd.reason == "invalid_request_error.invalid_api_key"


async def test_it_counts_open_connections(sim: RunningSimulator) -> None:
    headers = {"Authorization": "Bearer right-key"}
    async with connect(sim.url + GA_PATH, additional_headers=headers) as ws:
        await ws.recv()
        open_during = sim.open_connections
    await sim_idle(sim)
    assert open_during == 1
    assert sim.open_connections == 0


async def sim_idle(sim: RunningSimulator) -> None:
    """Let the server finish the closing handshake it is already running."""
    while sim.open_connections:
        await asyncio.sleep(0)


async def test_it_never_logs_keys(sim: RunningSimulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    headers = {"Authorization": "Bearer right-key"}
    await first_event(sim.url + GA_PATH, headers)
    await handshake_status(sim.url + AZURE_GA_PATH, {"api-key": "wrong-but-secret"})
    simulator_lines = "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith("realtime.simulator")
    )
    assert "connection open" in simulator_lines
    assert "right-key" not in simulator_lines
    assert "wrong-but-secret" not in simulator_lines


async def test_it_counts_accepted_connections(sim: RunningSimulator) -> None:
    headers = {"Authorization": "Bearer right-key"}
    await first_event(sim.url + GA_PATH, headers)
    await handshake_status(sim.url + GA_PATH, {"Authorization": "Bearer wrong"})
    await first_event(sim.url + VOICE_LIVE_PATH, headers)
    assert sim.connections == 2
