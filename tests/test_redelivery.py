"""A worker that dies mid-query: another one runs it again, the stream stays whole."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from onevice.base.settings import Settings
from onevice.storage.db import open_pool
from tests.fix_services import Isolate
from tests.fix_stack import StartWeb, User, WebServer, WorkerProcess
from tests.test_websocket import connect, receive, receive_until

CHUNKS = 20


async def kill_mid_query(
    web: WebServer,
    user: User,
    doomed: WorkerProcess,
    rescuer: WorkerProcess,
    settings: Settings,
) -> list[dict[str, Any]]:
    """Stream a query, kill its worker after chunk 3, start another; all messages."""
    async with open_pool(settings.require_database_url()) as pool:
        await doomed.start(pool)
        ws = await connect(web, user)
        await ws.send_json(
            {
                "type": "agent_query",
                "data": {
                    "agent": "test_stream",
                    "query": "q",
                    "options": {"chunks": CHUNKS, "delay_ms": 100},
                },
            }
        )
        seen = await receive_until(ws, "agent_response_chunk")
        while seen[-1]["data"].get("chunk_index", 0) < 3:
            seen.append(await receive(ws))
        doomed.kill()
        await rescuer.start(pool)
    # The rescuer's sweep re-sends the query once the dead worker's lease is
    # stale; the broker would also redeliver after its visibility timeout.
    # Whichever comes first, exactly one new attempt runs.
    seen += await receive_until(ws, "agent_response_complete", "error", timeout=60)
    await ws.close()
    return seen


async def test_killed_worker_query_is_finished_by_another_worker(
    isolate: Isolate, start_web: StartWeb, user: User, session_dir: Path
) -> None:
    """After kill -9 mid-query, a new worker restarts it: restart marker, no gaps."""
    # A stack of its own, so only this test's workers see (and rescue) the query.
    isolated = await isolate()
    rescuer = WorkerProcess(isolated, session_dir / "worker-rescuer.log")
    web = await start_web(isolated)
    try:
        seen = await kill_mid_query(
            web,
            user,
            WorkerProcess(isolated, session_dir / "worker-killed.log"),
            rescuer,
            isolated,
        )
    finally:
        await asyncio.to_thread(rescuer.stop)

    restart = [m for m in seen if m["data"].get("status") == "restarted"]
    assert len(restart) == 1
    cut = restart[0]["data"]["discard_through_chunk"]
    chunks = [m for m in seen if m["type"] == "agent_response_chunk"]
    assert [m["data"]["chunk_index"] for m in chunks] == list(
        range(1, cut + CHUNKS + 1)
    )
    after_restart = seen[seen.index(restart[0]) + 1 :]
    contents = [m["data"]["content"] for m in after_restart if "content" in m["data"]]
    assert contents == [f"part {i} of {CHUNKS}. " for i in range(1, CHUNKS + 1)]
    assert seen[-1]["type"] == "agent_response_complete"


async def test_the_rerun_is_recorded_as_a_second_attempt(
    isolate: Isolate, start_web: StartWeb, user: User, session_dir: Path
) -> None:
    """The query row of a rescued query ends completed with attempts == 2."""
    isolated = await isolate()
    rescuer = WorkerProcess(isolated, session_dir / "worker-rescuer-2.log")
    web = await start_web(isolated)
    try:
        seen = await kill_mid_query(
            web,
            user,
            WorkerProcess(isolated, session_dir / "worker-killed-2.log"),
            rescuer,
            isolated,
        )
    finally:
        await asyncio.to_thread(rescuer.stop)
    async with (
        open_pool(isolated.require_database_url()) as pool,
        pool.connection() as conn,
    ):
        cursor = await conn.execute(
            "SELECT status, attempts FROM queries WHERE id = %s",
            (seen[-1]["data"]["query_id"],),
        )
        row = await cursor.fetchone()
    assert row == {"status": "completed", "attempts": 2}
