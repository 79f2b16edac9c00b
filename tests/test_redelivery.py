"""A worker that dies mid-query: another one runs it again, the stream stays whole."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import redis.asyncio as aioredis

from onevice.base.settings import Settings
from onevice.storage.db import Pool
from tests.fix_stack import StartWeb, User, WorkerProcess
from tests.test_websocket import connect, receive, receive_until


async def test_killed_worker_query_is_finished_by_another_worker(
    settings: Settings,
    start_web: StartWeb,
    user: User,
    pool: Pool,
    session_dir: Path,
) -> None:
    """After kill -9 mid-query, a new worker restarts it: restart marker, no gaps."""
    # A broker database of its own, so only this test's workers see the task.
    isolated = dataclasses.replace(
        settings, redis_url=settings.require_redis_url().rsplit("/", 1)[0] + "/3"
    )
    client = aioredis.Redis.from_url(isolated.require_redis_url())
    first = WorkerProcess(isolated, session_dir / "worker-killed.log")
    second = WorkerProcess(isolated, session_dir / "worker-second.log")
    web = await start_web(isolated)
    try:
        await first.start(client)
        ws = await connect(web, user)
        await ws.send_json(
            {
                "type": "agent_query",
                "data": {
                    "agent": "test_stream",
                    "query": "q",
                    "options": {"chunks": 20, "delay_ms": 100},
                },
            }
        )
        seen = await receive_until(ws, "agent_response_chunk")
        while seen[-1]["data"].get("chunk_index", 0) < 3:
            seen.append(await receive(ws))
        first.kill()
        await second.start(client)
        # The broker hands the task over once the visibility timeout passes.
        async with asyncio.timeout(isolated.visibility_timeout_seconds + 30):
            seen += await receive_until(
                ws, "agent_response_complete", "error", timeout=60
            )
        await ws.close()
    finally:
        await asyncio.to_thread(second.stop)
        await client.aclose()

    restart = [m for m in seen if m["data"].get("status") == "restarted"]
    assert len(restart) == 1
    cut = restart[0]["data"]["discard_through_chunk"]
    indexes = [
        m["data"]["chunk_index"] for m in seen if m["type"] == "agent_response_chunk"
    ]
    assert indexes == list(range(1, cut + 21))
    after_restart = seen[seen.index(restart[0]) + 1 :]
    contents = [m["data"]["content"] for m in after_restart if "content" in m["data"]]
    assert contents == [f"part {i} of 20. " for i in range(1, 21)]
    assert seen[-1]["type"] == "agent_response_complete"
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT status, attempts FROM queries WHERE id = %s",
            (seen[-1]["data"]["query_id"],),
        )
        row = await cursor.fetchone()
    assert row == {"status": "completed", "attempts": 2}
