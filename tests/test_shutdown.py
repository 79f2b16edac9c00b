"""SIGTERM on a real web process: it drains, tells its clients, and loses nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from onevice.base.settings import Settings
from onevice.services.embedded import free_port
from onevice.storage.db import Pool
from tests.fix_stack import ROOT, MakeUser, StartWeb, WorkerProcess, environment_of
from tests.test_websocket import (
    chunk_indexes,
    read_through_chunk,
    receive_until,
    resume,
)


class WebProcess:
    """``python -m web`` as production runs it, on a free loopback port."""

    def __init__(self, settings: Settings, log_path: Path):
        self.settings = dataclasses.replace(
            settings, host="127.0.0.1", port=free_port()
        )
        self.url = f"http://127.0.0.1:{self.settings.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "web"],
                env=environment_of(self.settings),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        async with aiohttp.ClientSession() as session, asyncio.timeout(60):
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"web exited early:\n{self.log()[-3000:]}")
                try:
                    async with session.get(f"{self.url}/health"):
                        return
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
async def web_process(
    settings: Settings, session_dir: Path
) -> AsyncIterator[WebProcess]:
    """A web process of its own, killed at the end if it is still running."""
    process = WebProcess(settings, session_dir / "web-shutdown.log")
    await process.start()
    yield process
    await asyncio.to_thread(process.stop)


async def running_queries(pool: Pool, owner: str) -> int:
    """How many of ``owner``'s queries a worker is running."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM queries WHERE owner_sub = %s"
            " AND status = 'running'",
            (owner,),
        )
        row = await cursor.fetchone()
    return int(row["n"]) if row else 0


async def test_sigterm_drains_then_clients_resume_elsewhere(
    web_process: WebProcess,
    worker: WorkerProcess,
    start_web: StartWeb,
    make_user: MakeUser,
    pool: Pool,
) -> None:
    """A socket is told to reconnect, a waiting POST gets 202, nothing is lost."""
    user = make_user("Leadership")
    assert web_process.process is not None
    async with aiohttp.ClientSession(base_url=web_process.url) as session:
        ws = await session.ws_connect(f"/ws?token={user.token}")
        assert (await ws.receive_json())["type"] == "connection"
        await ws.send_json(
            {
                "type": "agent_query",
                "data": {
                    "agent": "test_stream",
                    "query": "q",
                    "options": {"chunks": 60, "delay_ms": 50},
                },
            }
        )
        seen = await read_through_chunk(ws, 3)
        query_id = seen[-1]["data"]["query_id"]
        waiting = asyncio.create_task(
            session.post(
                "/agents/test-stream/query",
                json={"query": "q", "options": {"chunks": 40, "delay_ms": 50}},
                headers=user.headers,
            )
        )
        async with asyncio.timeout(15):
            while await running_queries(pool, user.sub) < 2:
                await asyncio.sleep(0.05)

        web_process.process.send_signal(signal.SIGTERM)
        goodbye = await receive_until(ws, "connection_status")
        response = await waiting
        async with response:
            body = await response.json()
        returncode = await asyncio.to_thread(web_process.process.wait, 30)

    assert goodbye[-1]["data"]["status"] == "reconnect"
    last = max(chunk_indexes(seen + goodbye))
    assert response.status == 202, body
    assert response.headers["Location"] == f"/queries/{body['query_id']}"
    assert returncode == 0
    assert '"event":"web_draining"' in web_process.log()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session:
            await session.get(f"{web_process.url}/health")

    other = await start_web()
    ws = await other.session.ws_connect(other.ws_url(user.token))
    await receive_until(ws, "connection")
    rest = await resume(ws, query_id, last)
    await ws.close()
    assert chunk_indexes(rest) == list(range(last + 1, 61))
    async with asyncio.timeout(30):
        while True:
            async with other.session.get(
                response.headers["Location"], headers=user.headers
            ) as polled:
                status = (await polled.json())["status"]
            if status == "completed":
                break
            await asyncio.sleep(0.2)
