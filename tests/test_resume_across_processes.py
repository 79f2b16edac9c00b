"""Resuming on another web process, and sharing one subscription per process."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from onevice.services.bus import channel_name
from tests.fix_stack import MakeUser, StartWeb, User, WebServer, WorkerProcess
from tests.test_sse import submit
from tests.test_websocket import (
    ask,
    chunk_indexes,
    connect,
    read_through_chunk,
    receive_until,
    resume,
)


async def test_resume_after_the_web_process_restarted(
    start_web: StartWeb, worker: WorkerProcess, user: User
) -> None:
    """A client whose web process went away resumes on another and misses nothing."""
    first = await start_web()
    ws = await connect(first, user)
    await ask(ws, chunks=40, delay_ms=20)
    query_id = (await read_through_chunk(ws, 4))[-1]["data"]["query_id"]
    # The server goes away mid-stream while the client's socket stays open.
    closing = asyncio.create_task(first.server.close())
    goodbye = await receive_until(ws, "connection_status")
    await closing
    assert goodbye[-1]["data"]["status"] == "reconnect"

    second = await start_web()
    ws = await connect(second, user)
    rest = await resume(ws, query_id, 4)
    await ws.close()
    assert chunk_indexes(rest) == list(range(5, 41))


async def test_readers_of_a_query_share_one_subscription(
    web: WebServer, make_user: MakeUser, redis_client: aioredis.Redis
) -> None:
    """Five sockets on one query in one web process share one Redis subscription."""
    user = make_user("Leadership")  # a role allowed five sockets at once
    query_id = await submit(
        web,
        user,
        "test-stream",
        {"query": "q", "options": {"chunks": 50, "delay_ms": 20}},
    )
    sockets = [await connect(web, user) for _ in range(5)]
    for ws in sockets:
        await ws.send_json({"type": "resume", "data": {"query_id": query_id}})
    await asyncio.gather(*(receive_until(ws, "agent_response_chunk") for ws in sockets))
    counts = await redis_client.pubsub_numsub(channel_name(query_id))
    for ws in sockets:
        await ws.close()
    assert counts[0][1] == 1


async def test_a_lost_subscription_loses_no_chunk(
    web: WebServer, user: User, redis_client: aioredis.Redis
) -> None:
    """If Redis drops the web process's subscription mid-stream, nothing is missed."""
    ws = await connect(web, user)
    await ask(ws, chunks=300, delay_ms=1)
    seen = await read_through_chunk(ws, 5)
    killed = await redis_client.client_kill_filter(_type="pubsub")
    seen += await receive_until(ws, "agent_response_complete")
    await ws.close()
    assert killed >= 1
    assert chunk_indexes(seen) == list(range(1, 301))
