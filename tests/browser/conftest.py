"""Browser tests: the real ASGI app under daphne with the simulator, driven by Debian's Chromium.

pytest-django's live server speaks WSGI only, so the app runs as a daphne subprocess with a
SQLite database of its own (also in CI, where the other tests use PostgreSQL). Its data is only
reachable through its pages, which is how a person finds it too. Chromium gets a fake microphone
that plays a WAV made here with espeak-ng and sox.

Without Chromium, espeak-ng or sox the tests skip and say why; with `CI` set they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_FLAGS,
    PASSWORD,
    REPORTS,
    ROOT,
    SERVER_START_TIMEOUT_S,
    USERNAME,
    App,
)


def missing_requirements() -> list[str]:
    """What the browser tests need and this machine lacks."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    for tool, package in (("espeak-ng", "espeak-ng"), ("sox", "sox")):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (apt-get install {package})")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package (pip install -r requirements-dev.txt)")
    return missing


@pytest.fixture(scope="session", autouse=True)
def _browser_requirements() -> None:
    missing = missing_requirements()
    if not missing:
        return
    reason = "Browser tests need " + ", ".join(missing)
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI must run them)", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report, so a page fixture can save evidence when its test failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


# --- The app ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _app_env(database: Path) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "REALTIME_SIMULATOR_URL")
    }
    env.update(
        ENV_FILE=os.devnull,
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{database}",
        REALTIME_PROVIDER="simulator",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        PYTHONUNBUFFERED="1",
        DJANGO_SETTINGS_MODULE="voiceproject.settings",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode:
        pytest.fail(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}", pytrace=False)


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"daphne exited with {process.returncode}:\n{log.read_text()}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{url}/accounts/login/", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"daphne did not serve within {SERVER_START_TIMEOUT_S} s:\n{log.read_text()}", pytrace=False)


@pytest.fixture(scope="session")
def app() -> Iterator[App]:
    """The app served by daphne on a free loopback port, with a user and some earlier usage."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="browser-app-") as tmp:
        env = _app_env(Path(tmp) / "browser.sqlite3")
        _manage(
            env, "shell", "-c", f"from tests.browser.seed import prepare; prepare({USERNAME!r}, {PASSWORD!r})"
        )
        port = _free_port()
        log = ARTIFACTS / "daphne.log"
        daphne = Path(sys.executable).parent / "daphne"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(daphne), "-b", "127.0.0.1", "-p", str(port), "voiceproject.asgi:application"],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_serving(url, process, log)
            yield App(url)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- Chromium ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """Playwright for one module, stopped before later (asyncio) test modules run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def launch(playwright: Any) -> Iterator[Callable[..., Any]]:
    """Start Chromium whose fake microphone plays `wav` once (then silence)."""
    browsers: list[Any] = []

    def _launch(wav: Path) -> Any:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}%noloop"],
        )
        browsers.append(browser)
        return browser

    yield _launch
    for browser in browsers:
        browser.close()
