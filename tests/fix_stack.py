"""The stack under test: worker processes, web servers, users and their tokens."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from onevice.base.settings import Settings
from onevice.identity.tokens import TokenIssuer
from onevice.services import queue
from onevice.storage.db import Pool
from web.app import create_app

ROOT = Path(__file__).resolve().parent.parent


def environment_of(settings: Settings) -> dict[str, str]:
    """The environment a child process needs to act with ``settings``."""
    return {
        **os.environ,
        **dataclasses.replace(settings, log_format="json").to_environ(),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }


class WorkerProcess:
    """A real Celery worker process, started and stopped by pid."""

    def __init__(self, settings: Settings, log_path: Path):
        self.settings = settings
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def heartbeat_name(self) -> str:
        assert self.process is not None
        return f"{socket.gethostname()}:{self.process.pid}"

    async def start(self, pool: Pool) -> None:
        """Start the worker and wait until its heartbeat shows it is ready."""
        argv = queue.worker_command(
            sys.executable,
            concurrency=self.settings.worker_concurrency,
            name=f"test-{uuid.uuid4().hex[:6]}",
        )
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                env=environment_of(self.settings),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        async with asyncio.timeout(60):
            while not await self._has_beaten(pool):
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"worker exited early:\n{self.log_path.read_text()[-3000:]}"
                    )
                await asyncio.sleep(0.1)

    async def _has_beaten(self, pool: Pool) -> bool:
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM workers WHERE name = %s", (self.heartbeat_name,)
            )
            return await cursor.fetchone() is not None

    def kill(self) -> None:
        """Kill the worker abruptly, as a crashed machine would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then kill if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
async def worker(
    settings: Settings, pool: Pool, session_dir: Path
) -> AsyncIterator[WorkerProcess]:
    """The session's worker process."""
    process = WorkerProcess(settings, session_dir / "worker.log")
    await process.start(pool)
    yield process
    await asyncio.to_thread(process.stop)


@dataclasses.dataclass
class WebServer:
    """A web tier process stand-in: a real aiohttp server on loopback."""

    server: TestServer
    session: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return str(self.server.make_url(""))

    def ws_url(self, token: str) -> str:
        return str(self.server.make_url("/ws").with_query(token=token))

    async def close(self) -> None:
        await self.server.close()
        await self.session.close()


StartWeb = Callable[..., Awaitable[WebServer]]


@pytest.fixture(scope="session")
async def start_web(settings: Settings) -> AsyncIterator[StartWeb]:
    """Start extra web servers (for restarts and multi-process behaviour)."""
    started: list[WebServer] = []

    async def start(custom: Settings | None = None) -> WebServer:
        server = TestServer(create_app(custom or settings), host="127.0.0.1")
        await server.start_server()
        web = WebServer(server, aiohttp.ClientSession(base_url=server.make_url("")))
        started.append(web)
        return web

    yield start
    for web in started:
        if not web.session.closed:
            await web.close()


@pytest.fixture(scope="session")
async def web(start_web: StartWeb, worker: WorkerProcess) -> WebServer:
    """The session's web server, with the session worker behind it."""
    return await start_web()


@pytest.fixture(scope="session")
def issuer(settings: Settings) -> TokenIssuer:
    return TokenIssuer.from_settings(settings)


@dataclasses.dataclass(frozen=True)
class User:
    """A test user with a token; every test gets users of its own."""

    sub: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MakeUser = Callable[..., User]


@pytest.fixture
def make_user(issuer: TokenIssuer) -> Iterator[MakeUser]:
    def make(role: str = "Salesperson") -> User:
        sub = f"user_{uuid.uuid4().hex[:10]}"
        return User(sub, role, issuer.mint(role=role, sub=sub))

    yield make


@pytest.fixture
def user(make_user: MakeUser) -> User:
    return make_user()
