"""Settings, history and usage in Chromium, at desktop and phone width, with screenshots of each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import App, screenshot, signed_in_page, silence_wav

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser(launch: Callable[[Path], Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    return launch(silence_wav(tmp_path_factory.mktemp("pages"), seconds=5))


def test_settings_refuse_bad_values_and_save_good_ones(
    request: pytest.FixtureRequest, app: App, browser: Any
) -> None:
    page = signed_in_page(request, browser, app)
    page.goto(f"{app.url}/")
    page.click("nav >> text=Settings")
    voices = page.eval_on_selector_all("#id_voice option", "options => options.map(o => o.value)")
    assert {"alloy", "marin", "cedar"} <= set(voices)

    page.select_option("#id_voice", "coral")
    page.fill("#id_transcription_language", "Klingon")
    page.fill("#id_vad_silence_duration_ms", "50")
    page.click("text=Save settings")

    assert page.is_visible("#settings-errors")
    errors = page.inner_text(".settings-form")
    assert "Must be a language code such as en, de or pt-BR" in errors
    assert "Must be a whole number from 100 to 5000 ms" in errors
    assert page.get_attribute("#id_transcription_language", "aria-invalid") == "true"
    screenshot(page, "settings-refused")

    page.fill("#id_transcription_language", "de")
    page.fill("#id_vad_silence_duration_ms", "")  # the default, which the voice tests' timing expects
    page.fill("#id_instructions", "Answer in one sentence.")
    page.click("text=Save settings")

    assert "Settings saved" in page.inner_text(".messages")
    assert page.input_value("#id_voice") == "coral"
    assert page.input_value("#id_transcription_language") == "de"
    assert page.input_value("#id_vad_silence_duration_ms") == ""
    assert page.input_value("#id_instructions") == "Answer in one sentence."
    screenshot(page, "settings")


def test_usage_draws_tokens_and_cost_per_day(request: pytest.FixtureRequest, app: App, browser: Any) -> None:
    page = signed_in_page(request, browser, app)
    page.goto(f"{app.url}/usage/")

    page.wait_for_selector("#usage-chart svg")
    days_with_usage = page.locator(".usage-table tbody tr").count()
    assert days_with_usage >= 4  # the seeded days
    bars = page.eval_on_selector_all(
        "#usage-chart .chart-bar-input", "bars => bars.map(bar => Number(bar.getAttribute('height')))"
    )
    assert len(bars) == 30  # one per day of the default range, empty days included
    assert sum(height > 0 for height in bars) == days_with_usage
    assert page.locator("#usage-chart polyline.chart-cost").count() == 1
    assert page.get_attribute("#usage-chart svg", "role") == "img"
    screenshot(page, "usage")


def test_history_pages_and_filters(request: pytest.FixtureRequest, app: App, browser: Any) -> None:
    page = signed_in_page(request, browser, app)
    page.goto(f"{app.url}/history/")
    assert page.is_visible("text=Planning a trip to Lisbon")
    screenshot(page, "history")

    page.fill("input[name=q]", "sourdough")
    page.press("input[name=q]", "Enter")
    titles = page.eval_on_selector_all(
        ".history-table tbody td:first-child", "cells => cells.map(c => c.innerText)"
    )
    assert titles == ["Bread recipe"]

    page.click("text=Bread recipe")
    assert "How long does sourdough rise?" in page.inner_text(".transcript")
    page.fill("#id_title", "Bread <b>baking</b>")
    page.click("button:text('Rename')")
    assert page.inner_text("h1") == "Bread <b>baking</b>"  # shown as text, never as markup
    screenshot(page, "conversation-renamed")

    page.click("text=Delete…")
    assert "cannot be undone" in page.inner_text("main")
    screenshot(page, "conversation-delete")
    page.click("text=Keep it")
    assert page.inner_text("h1") == "Bread <b>baking</b>"


@pytest.mark.parametrize("path", ["/", "/history/", "/settings/", "/usage/"])
def test_pages_fit_a_phone_screen(request: pytest.FixtureRequest, app: App, browser: Any, path: str) -> None:
    page = signed_in_page(request, browser, app, viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(f"{app.url}{path}")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at phone width"
    name = path.strip("/") or "voice"
    screenshot(page, f"phone-{name}")
