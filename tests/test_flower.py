"""Flower, the operator's view: behind basic auth, it shows each query's task."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from onevice.base.settings import Settings
from onevice.services.embedded import free_port
from tests.fix_stack import ROOT, User, WebServer, environment_of
from tests.test_sse import submit

LOGIN, PASSWORD = "operator", "flower-test-secret"
AUTH = {"Authorization": aiohttp.encode_basic_auth(LOGIN, PASSWORD)}


@pytest.fixture
async def flower(settings: Settings, session_dir: Path) -> AsyncIterator[str]:
    """Flower on the session's broker, as the Procfile runs it; its URL."""
    port = free_port()
    log_path = session_dir / "flower.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                *[sys.executable, "-m", "celery", "-A", "workers.app", "flower"],
                "--address=127.0.0.1",
                f"--port={port}",
                f"--basic-auth={LOGIN}:{PASSWORD}",
            ],
            env=environment_of(settings),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(headers=AUTH) as session, asyncio.timeout(60):
            while True:
                assert process.poll() is None, log_path.read_text()[-3000:]
                try:
                    async with session.get(f"{url}/healthcheck") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.2)
        yield url
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)


async def test_flower_refuses_requests_without_credentials(flower: str) -> None:
    """Without credentials Flower answers 401; its health check stays open."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{flower}/api/tasks") as response:
            assert response.status == 401
        async with session.get(f"{flower}/healthcheck") as response:
            assert response.status == 200  # for the platform's health check


async def finished_task(
    session: aiohttp.ClientSession, flower: str, query_id: str
) -> dict[str, Any]:
    """The query's task once Flower shows it finished; {} if it does not soon."""
    for _ in range(25):
        async with session.get(f"{flower}/api/tasks") as response:
            assert response.status == 200
            task: dict[str, Any] = (await response.json()).get(query_id, {})
        if task.get("state") == "SUCCESS":
            return task
        await asyncio.sleep(0.2)
    return {}


async def test_each_query_shows_as_a_task_with_its_agent(
    flower: str, web: WebServer, user: User
) -> None:
    """Worker events reach Flower: the task is named by query id and agent.

    Flower hears only the events sent after its receiver has connected, which
    may be a moment after it answers its health check; a query that ran before
    that is never shown, so the test asks again until one is.
    """
    task: dict[str, Any] = {}
    async with aiohttp.ClientSession(headers=AUTH) as session, asyncio.timeout(90):
        while not task:
            query_id = await submit(
                web, user, "test-stream", {"query": "q", "options": {"chunks": 2}}
            )
            task = await finished_task(session, flower, query_id)
    assert task["name"] == "onevice.run_query"
    assert query_id in task["args"]
    assert "test_stream" in task["kwargs"]
