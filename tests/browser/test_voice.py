"""A person's voice session in Chromium: talk, hear the answer, interrupt it, type, stop, find it again."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import App, log_in, open_page, screenshot, signed_in_page, silence_wav, speech_wav

pytestmark = pytest.mark.browser

# The fake microphone's script, in seconds from the moment the page opens it. The first
# utterance is answered (about 2.5 s of audio); the test then types a long turn whose spoken
# answer (about 15 s) is still playing when the second utterance barges in.
FIRST_WORDS = (0.3, "Hello there, what will the weather be like tomorrow?")
BARGE_IN = (11.0, "Wait, stop please.")
LONG_TURN = (
    "The quick brown fox jumps over the lazy dog while the patient farmer counts his sheep in the "
    "green valley, and far away a small boat drifts along the quiet river under a pale morning sky."
)
SPEECH = re.compile(r"^\(\d+\.\d seconds of speech\)$")


@pytest.fixture(scope="module")
def talking_browser(launch: Callable[[Path], Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    wav = speech_wav(tmp_path_factory.mktemp("talk"), [FIRST_WORDS, BARGE_IN], total_s=20.0)
    return launch(wav)


@pytest.fixture(scope="module")
def quiet_browser(launch: Callable[[Path], Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    return launch(silence_wav(tmp_path_factory.mktemp("quiet")))


def voice(page: Any) -> dict[str, str]:
    """The voice page's state as it exposes it on its root element."""
    return page.eval_on_selector("#voice", "element => ({...element.dataset})")


def captions(page: Any) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "#captions > li",
        """items => items.map(item => ({
            ...item.dataset,
            text: item.querySelector('.caption-text').textContent,
        }))""",
    )


def wait_for_caption(page: Any, index: int, role: str, predicate: str, timeout: float = 15_000) -> None:
    """Wait until caption `index` has `role` and satisfies the JavaScript `predicate(caption)`.

    On a timeout the failure shows every caption and the page's state: a rare stall here (one CI
    run in many) left only "Timeout 20000ms exceeded" to go on.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            f"""() => {{
                const caption = document.querySelectorAll('#captions > li')[{index}];
                return caption && caption.dataset.role === {json.dumps(role)} && ({predicate})(caption);
            }}""",
            timeout=timeout,
        )
    except PlaywrightTimeout:
        pytest.fail(
            f"caption {index} ({role}, {predicate}) did not come within {timeout / 1000:g} s;"
            f"\ncaptions: {json.dumps(captions(page), indent=1)}\nvoice: {json.dumps(voice(page))}"
        )


def wait_for_state(page: Any, *states: str, timeout: float = 15_000) -> None:
    page.wait_for_function(
        f"() => {json.dumps(list(states))}.includes(document.getElementById('voice').dataset.state)",
        timeout=timeout,
    )


def sent_messages(page: Any) -> list[dict[str, Any]]:
    """Every JSON message the page sends on its WebSockets, as they go."""
    sent: list[dict[str, Any]] = []

    def on_socket(ws: Any) -> None:
        def on_frame(payload: Any) -> None:
            if isinstance(payload, str):
                sent.append(json.loads(payload))

        ws.on("framesent", on_frame)

    page.on("websocket", on_socket)
    return sent


def test_talk_listen_interrupt_type_and_find_it_all_in_history(
    request: pytest.FixtureRequest, app: App, talking_browser: Any
) -> None:
    page = open_page(request, talking_browser)
    page.goto(f"{app.url}/accounts/login/")
    screenshot(page, "login")
    log_in(page, app)
    sent = sent_messages(page)
    assert page.is_visible("#simulator-banner")
    screenshot(page, "voice-ready")

    # Start, and the first utterance comes through the microphone.
    page.click("#voice-start")
    wait_for_state(page, "connecting", "listening", "user-speaking")
    wait_for_caption(page, 0, "user", "c => !c.dataset.pending")
    first = captions(page)[0]
    assert SPEECH.match(first["text"]), first
    state = voice(page)
    assert state["microphone"] == "on"
    assert int(state["framesSent"]) > 25  # 40 ms frames of 24 kHz PCM16
    assert state["conversationId"]

    # The assistant answers aloud; its caption streams in and its audio plays to the end.
    wait_for_caption(page, 1, "assistant", "c => c.dataset.finished === '1'")
    answer = captions(page)[1]
    assert answer["text"].startswith("I heard you speak for")
    assert int(answer["playedMs"]) > 1500
    assert abs(int(answer["playedMs"]) - int(answer["receivedMs"])) <= 1
    wait_for_state(page, "listening")

    # A typed turn, answered with a long spoken reply.
    page.fill("#typed-text", LONG_TURN)
    page.press("#typed-text", "Enter")
    wait_for_caption(page, 2, "user", f"c => c.textContent.includes({json.dumps(LONG_TURN)})")
    assert page.input_value("#typed-text") == ""
    wait_for_caption(page, 3, "assistant", "c => Number(c.dataset.playedMs) > 500")
    wait_for_state(page, "assistant-speaking")

    # The second utterance barges in: playback stops at once and the page reports what was played.
    page.wait_for_function(
        "() => document.getElementById('voice').dataset.interrupts === '1'", timeout=20_000
    )
    interrupted = captions(page)[3]
    assert interrupted["interrupted"] == "1"
    interrupts = [message for message in sent if message["type"] == "interrupt"]
    assert len(interrupts) == 1
    assert interrupts[0]["item_id"] == interrupted["itemId"]
    assert interrupts[0]["played_ms"] == int(interrupted["playedMs"])
    assert 1000 < interrupts[0]["played_ms"] < int(interrupted["receivedMs"])
    # The caption shows what was heard and strikes out the rest, as history will.
    caption_heard = page.eval_on_selector(
        "#captions > li:nth-child(4) .caption-text",
        "p => p.firstChild.nodeType === 3 ? p.firstChild.data : ''",
    )
    assert caption_heard.startswith("You said: The quick")
    assert page.is_visible("#captions > li:nth-child(4) del.unheard")
    played_at_interrupt = int(voice(page)["playedMs"])
    page.wait_for_timeout(300)
    assert captions(page)[3]["playedMs"] == interrupted["playedMs"]  # nothing more of it was played
    assert {"type": "text", "text": LONG_TURN} in sent

    # The barge-in is a turn of its own, answered in full.
    wait_for_caption(page, 4, "user", "c => !c.dataset.pending")
    assert SPEECH.match(captions(page)[4]["text"])
    wait_for_caption(page, 5, "assistant", "c => c.dataset.finished === '1'", timeout=20_000)
    assert int(voice(page)["playedMs"]) > played_at_interrupt
    screenshot(page, "voice-conversation")

    # Stop, then follow the page's own link to the saved conversation.
    page.click("#voice-stop")
    wait_for_state(page, "ended")
    assert {"type": "stop"} in sent
    conversation_id = voice(page)["conversationId"]
    page.click("#voice-ended-history")
    page.wait_for_url(f"{app.url}/history/{conversation_id}/")
    turns = page.eval_on_selector_all(".transcript > li", "items => items.map(item => item.innerText)")
    assert len(turns) == 6, turns
    assert SPEECH.search(turns[0].splitlines()[-1])
    assert "I heard you speak for" in turns[1]
    assert LONG_TURN in turns[2]
    assert "You said: The quick brown fox" in turns[3]
    assert f"Interrupted after {interrupts[0]['played_ms']} ms" in turns[3]
    heard = page.inner_text(".turn-interrupted .heard")
    unheard = page.inner_text(".turn-interrupted .unheard")
    assert heard == caption_heard
    assert unheard
    assert f"{heard} {unheard}" == "You said: " + LONG_TURN
    assert "I heard you speak for" in turns[5]
    screenshot(page, "conversation-detail")

    # History finds it by a word that was only typed.
    page.goto(f"{app.url}/history/?q=farmer")
    assert page.is_visible(f"a[href='/history/{conversation_id}/']")
    screenshot(page, "history-search")


def test_a_dropped_connection_reconnects_into_the_same_conversation(
    request: pytest.FixtureRequest, app: App, quiet_browser: Any
) -> None:
    page = signed_in_page(request, quiet_browser, app)
    # The page's sockets go through Playwright, which can cut one as a failing network or server would.
    connections: list[tuple[Any, Any]] = []

    def relay(ws: Any) -> None:
        connections.append((ws, ws.connect_to_server()))

    page.route_web_socket(lambda url: "/ws/voice/" in url, relay)
    page.goto(f"{app.url}/")
    # Keyboard only: the skip link comes first, and Start works with Enter.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.focus("#voice-start")
    page.keyboard.press("Enter")
    wait_for_state(page, "listening")
    conversation_id = voice(page)["conversationId"]

    # The server goes away mid-session (1012: service restart).
    browser_side, server_side = connections[0]
    server_side.close()
    browser_side.close(code=1012, reason="restart")
    wait_for_state(page, "reconnecting", timeout=2_000)
    assert page.inner_text("#voice-status-text") == "Connection lost. Reconnecting…"
    wait_for_state(page, "listening")
    assert len(connections) == 2
    assert voice(page)["conversationId"] == conversation_id
    assert connections[1][0].url.endswith(f"/ws/voice/?conversation={conversation_id}")

    page.fill("#typed-text", "Are you still there?")
    page.keyboard.press("Enter")
    wait_for_caption(page, 1, "assistant", "c => c.dataset.finished === '1'")
    assert captions(page)[1]["text"] == "You said: Are you still there?"
    page.click("#voice-stop")
    wait_for_state(page, "ended")

    # Continue it later: the earlier turns are shown and the model gets them as context.
    page.click("#voice-ended-continue")
    page.wait_for_url(f"{app.url}/?conversation={conversation_id}")
    earlier = page.eval_on_selector_all(".caption-earlier", "items => items.map(item => item.innerText)")
    assert len(earlier) == 2
    page.click("#voice-start")
    wait_for_state(page, "listening")
    assert voice(page)["conversationId"] == conversation_id
    page.fill("#typed-text", "One more thing")
    page.keyboard.press("Enter")
    wait_for_caption(page, 3, "assistant", "c => c.dataset.finished === '1'")
    page.click("#voice-stop")
    wait_for_state(page, "ended")

    page.goto(f"{app.url}/history/{conversation_id}/")
    transcript = page.inner_text(".transcript")
    assert "Are you still there?" in transcript
    assert "You said: One more thing." in transcript


def test_a_refused_microphone_is_explained_and_typing_still_works(
    request: pytest.FixtureRequest, app: App, quiet_browser: Any
) -> None:
    page = signed_in_page(request, quiet_browser, app)
    page.add_init_script(
        """navigator.mediaDevices.getUserMedia = () =>
            Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));"""
    )
    page.goto(f"{app.url}/")
    page.click("#voice-start")
    wait_for_state(page, "listening")

    notice = page.locator("#voice-notice")
    assert notice.is_visible()
    assert "Microphone access was refused" in notice.inner_text()
    assert voice(page)["microphone"] == "off"

    page.fill("#typed-text", "Typing instead")
    page.click("#typed-turn button[type=submit]")
    wait_for_caption(page, 1, "assistant", "c => c.textContent.includes('You said: Typing instead.')")
    screenshot(page, "voice-microphone-refused")

    # A server error is shown as the server words it, and the session goes on.
    page.evaluate("window.voiceChat.socket.sendJson({type: 'session.update'})")
    error = page.locator("#voice-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "Accepted message types are: audio, text, interrupt, ping, stop."
    wait_for_state(page, "listening")
    page.click("#voice-stop")
    wait_for_state(page, "ended")
