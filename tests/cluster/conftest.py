"""A cluster on one machine: two workers (uvicorn and daphne, unless said), PostgreSQL and Redis.

The workers are real processes serving the real application; the test talks to them over loopback
like browsers and admins would. They run against the test database pytest-django created (on the
PostgreSQL server of DATABASE_URL) and a private Redis server the fixture starts and can restart.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


@pytest.fixture
def cluster_database() -> str:
    """The test database's URL, or a skip when the suite does not run on PostgreSQL."""
    if connection.vendor != "postgresql":
        if os.environ.get("CI"):
            pytest.fail("cluster tests need DATABASE_URL to be PostgreSQL in CI")
        pytest.skip("cluster tests need DATABASE_URL pointing at PostgreSQL")
    db = connection.settings_dict  # NAME is the test database pytest-django created
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


@dataclass
class Redis:
    """A private Redis server the test may restart."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("cluster tests need redis-server in CI")
        pytest.skip("redis-server is not installed")
    server = Redis(port=free_port(), directory=tmp_path)
    server.start()
    yield server
    server.stop()


@dataclass
class Simulator:
    """The realtime simulator as a process of its own, so a test can kill it like a failing upstream."""

    port: int
    log: Path
    realtime_factor: float = 8.0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "realtime_simulator",
                "--port",
                str(self.port),
                "--tone-voice",
                "--realtime-factor",
                str(self.realtime_factor),
            ],
            cwd=ROOT,
            env={**os.environ, "ENV_FILE": os.devnull, "DEBUG": "1"},
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[Simulator]:
    sim = Simulator(port=free_port(), log=tmp_path / "simulator.log")
    yield sim
    sim.kill()


WORKER_APPLICATION_NAME = "cluster-worker"

# How each server is started, as README.md and docs/deployment.md say.
SERVER_COMMANDS = {
    "daphne": lambda port: [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port)],
    "uvicorn": lambda port: [
        str(BIN / "uvicorn"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ws-per-message-deflate",
        "false",
    ],
}


@dataclass
class Worker:
    """One server process (daphne unless said) serving the application."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    server: str = "daphne"
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*SERVER_COMMANDS[self.server](self.port), "voiceproject.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)

    def terminate(self) -> int:
        """SIGTERM, as an orchestrator stops a worker; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/voice/"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    workers: list[Worker]
    redis: Redis
    simulator: Simulator


@pytest.fixture
def worker_env(cluster_database: str, redis_server: Redis, simulator: Simulator) -> dict[str, str]:
    """What every worker runs with; tests add to it before the cluster starts."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    return {
        **keep,
        "ENV_FILE": os.devnull,
        "DEBUG": "1",
        # The test process signs the session cookies the workers must accept.
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Named, so the fixture can tell the workers' database sessions from the test's own.
        "DATABASE_URL": f"{cluster_database}?application_name={WORKER_APPLICATION_NAME}",
        "REDIS_URL": redis_server.url,
        "REALTIME_PROVIDER": "simulator",
        "REALTIME_SIMULATOR_URL": simulator.url,
        "REALTIME_HEARTBEAT_S": "1",
        "REALTIME_SHUTDOWN_TIMEOUT_S": "10",
        "LOG_LEVEL": os.environ.get("CLUSTER_LOG_LEVEL", "INFO"),
    }


@pytest.fixture
def cluster(
    request: pytest.FixtureRequest,
    worker_env: dict[str, str],
    redis_server: Redis,
    simulator: Simulator,
    tmp_path: Path,
) -> Iterator[Cluster]:
    """Workers a and b; parametrize indirectly with their servers, e.g. ("daphne", "daphne").

    By default a runs on uvicorn, the recommended server, and b on daphne, so every behaviour
    across workers is checked on both.
    """
    servers = getattr(request, "param", ("uvicorn", "daphne"))
    simulator.start()
    workers = [
        Worker(name, free_port(), dict(worker_env), tmp_path / f"{name}.log", server)
        for name, server in zip(("a", "b"), servers, strict=True)
    ]
    for worker in workers:
        worker.start()
    yield Cluster(workers, redis_server, simulator)
    for worker in workers:
        worker.stop()
        # Shown by pytest only when the test failed.
        print(f"--- worker {worker.name} ---\n{worker.output()[-6000:]}")
    _wait_for_worker_connections_to_close()


def _wait_for_worker_connections_to_close(timeout_s: float = 5.0) -> None:
    """PostgreSQL drops a killed worker's sessions a moment later; the next test must not see them."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = %s",
                [WORKER_APPLICATION_NAME],
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)
    # Still open after the wait: sessions through a test's database proxy (a fault test), which
    # that proxy closes when it stops; the next test starts after that.


@sync_to_async
def session_cookie(user: Any) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"sessionid={session.session_key}"


@dataclass
class VoiceClient:
    """A browser-like client of one worker's /ws/voice/."""

    ws: ClientConnection
    events: list[dict[str, Any]] = field(default_factory=list)
    audio_bytes: int = 0

    async def next_event(self, timeout: float = 20.0) -> dict[str, Any] | None:
        """The next JSON event; None once the socket is closed."""
        while True:
            try:
                message = await asyncio.wait_for(self.ws.recv(), timeout)
            except Exception as exc:  # ConnectionClosed
                if type(exc).__name__.startswith("ConnectionClosed"):
                    return None
                raise
            if isinstance(message, bytes):
                self.audio_bytes += len(message)
                continue
            event = json.loads(message)
            self.events.append(event)
            return event

    async def until(self, kind: str, timeout: float = 20.0) -> dict[str, Any]:
        while True:
            event = await self.next_event(timeout)
            assert event is not None, (
                f"closed ({self.close_code}) before {kind}; got {[e['type'] for e in self.events]}"
            )
            if event["type"] == kind:
                return event

    async def until_closed(self, timeout: float = 20.0) -> int | None:
        while await self.next_event(timeout) is not None:
            pass
        return self.close_code

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))


async def open_client(worker: Worker, user: Any, query: str = "") -> VoiceClient:
    cookie = await session_cookie(user)
    ws = await connect(
        worker.ws_url + query,
        additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{worker.port}"},
        open_timeout=10,
    )
    return VoiceClient(ws)


def admin_post(worker: Worker, cookie: str, path: str, form: dict[str, str]) -> int:
    """POST a form to the worker as a logged-in staff member (with its CSRF token)."""
    conn = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=10)
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    response.read()
    csrf = next(
        part.split("=", 1)[1]
        for header in response.headers.get_all("Set-Cookie") or []
        for part in header.split(";")
        if part.strip().startswith("csrftoken=")
    )
    body = "&".join(f"{k}={v}" for k, v in {**form, "csrfmiddlewaretoken": csrf}.items())
    conn.request(
        "POST",
        path,
        body=body,
        headers={
            "Cookie": f"{cookie}; csrftoken={csrf}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"http://127.0.0.1:{worker.port}",
            "Referer": f"http://127.0.0.1:{worker.port}{path}",
        },
    )
    response = conn.getresponse()
    response.read()
    return response.status


class TcpProxy:
    """A loopback TCP proxy the test can cut, to take a service away from the workers only."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        self._writers |= {client_writer, server_writer}

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))
