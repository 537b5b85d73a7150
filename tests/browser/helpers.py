"""Helpers of the browser tests: the fake microphone's audio, pages with evidence on failure."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
USERNAME = "browser-tester"
PASSWORD = "a long passphrase for the browser tests"
CHROMIUM_FLAGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
SERVER_START_TIMEOUT_S = 30
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@dataclass(frozen=True)
class App:
    url: str
    username: str = USERNAME
    password: str = PASSWORD


# --- Audio for the fake microphone ------------------------------------------------------------------


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout


def _duration(path: Path) -> float:
    return float(_run("sox", "--i", "-D", str(path)))


def speech_wav(directory: Path, parts: list[tuple[float, str]], *, total_s: float) -> Path:
    """A 48 kHz 16-bit mono WAV with each text spoken (espeak-ng) starting at its second, silence between.

    Chromium's fake microphone takes this format as it is; silence after each utterance lets the
    simulator's voice activity detection end the turn.
    """
    directory.mkdir(parents=True, exist_ok=True)
    pieces: list[Path] = []
    position = 0.0
    for n, (start, text) in enumerate(parts):
        raw, speech = directory / f"speech{n}-raw.wav", directory / f"speech{n}.wav"
        _run("espeak-ng", "-w", str(raw), text)
        _run("sox", str(raw), "-r", "48000", "-b", "16", "-c", "1", str(speech))
        gap = start - position
        assert gap >= 0, f"utterance {n} would start before the previous one ends"
        padded = directory / f"speech{n}-padded.wav"
        _run("sox", str(speech), str(padded), "pad", f"{gap:.3f}", "0")
        pieces.append(padded)
        position = start + _duration(speech)
    out = directory / "microphone.wav"
    _run("sox", *map(str, pieces), str(out), "pad", "0", f"{max(total_s - position, 0.5):.3f}")
    return out


def silence_wav(directory: Path, seconds: float = 30.0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / "silence.wav"
    _run("sox", "-n", "-r", "48000", "-b", "16", "-c", "1", str(out), "trim", "0", str(seconds))
    return out


@dataclass
class PageRecorder:
    """Console messages and page errors, saved with a screenshot when the test fails."""

    console: list[str]


def open_page(
    request: pytest.FixtureRequest, browser: Any, *, viewport: dict[str, int] | None = None, **options: Any
) -> Any:
    """A fresh context and page whose console is recorded; evidence is saved if the test fails."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    recorder = PageRecorder(console=[])
    page.on("console", lambda message: recorder.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: recorder.console.append(f"pageerror: {error}"))

    def _finish() -> None:
        reports = request.node.stash.get(REPORTS, {})
        if any(report.failed for report in reports.values()):
            name = request.node.name
            try:
                page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"), full_page=True)
                (ARTIFACTS / f"FAILED-{name}.html").write_text(page.content())
            except Exception as exc:  # the page may be gone; the log still helps
                recorder.console.append(f"(no screenshot: {exc})")
            (ARTIFACTS / f"FAILED-{name}.console.txt").write_text("\n".join(recorder.console))
        context.close()

    request.addfinalizer(_finish)
    page.recorder = recorder
    return page


_SIGNED_IN: dict[str, Any] = {}


def signed_in_page(request: pytest.FixtureRequest, browser: Any, app: App, **options: Any) -> Any:
    """A page of a context that shares one signed-in session (logging in once through the form)."""
    if app.url not in _SIGNED_IN:
        page = open_page(request, browser)
        log_in(page, app)
        _SIGNED_IN[app.url] = page.context.storage_state()
    return open_page(request, browser, storage_state=_SIGNED_IN[app.url], **options)


def log_in(page: Any, app: App) -> None:
    page.goto(f"{app.url}/accounts/login/")
    page.fill("#id_username", app.username)
    page.fill("#id_password", app.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{app.url}/")


def screenshot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
