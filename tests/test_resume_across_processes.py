"""Resuming on another web process, and sharing one subscription per process."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from onevice.services.bus import channel_name
from tests.fix_stack import StartWeb, User, WebServer, WorkerProcess
from tests.test_sse import submit
from tests.test_websocket import connect, receive, receive_until


async def test_resume_after_the_web_process_restarted(
    start_web: StartWeb, worker: WorkerProcess, user: User
) -> None:
    """A client whose web process went away resumes on another and misses nothing."""
    first = await start_web()
    ws = await connect(first, user)
    await ws.send_json(
        {
            "type": "agent_query",
            "data": {
                "agent": "test_stream",
                "query": "q",
                "options": {"chunks": 40, "delay_ms": 20},
            },
        }
    )
    seen = await receive_until(ws, "agent_response_chunk")
    while seen[-1]["data"].get("chunk_index", 0) < 4:
        seen.append(await receive(ws))
    query_id = seen[-1]["data"]["query_id"]
    # The server goes away mid-stream while the client's socket stays open.
    closing = asyncio.create_task(first.server.close())
    goodbye = await receive_until(ws, "connection_status")
    await closing
    assert goodbye[-1]["data"]["status"] == "reconnect"

    second = await start_web()
    ws = await connect(second, user)
    await ws.send_json(
        {"type": "resume", "data": {"query_id": query_id, "after_chunk": 4}}
    )
    rest = await receive_until(ws, "agent_response_complete")
    await ws.close()
    indexes = [
        m["data"]["chunk_index"] for m in rest if m["type"] == "agent_response_chunk"
    ]
    assert indexes == list(range(5, 41))


async def test_readers_of_a_query_share_one_subscription(
    web: WebServer, user: User, redis_client: aioredis.Redis
) -> None:
    """Ten streams of one query in one web process use a single Redis subscription."""
    query_id = await submit(
        web,
        user,
        "test-stream",
        {"query": "q", "options": {"chunks": 50, "delay_ms": 20}},
    )
    sockets = [await connect(web, user) for _ in range(10)]
    for ws in sockets:
        await ws.send_json({"type": "resume", "data": {"query_id": query_id}})
    await asyncio.gather(*(receive_until(ws, "agent_response_chunk") for ws in sockets))
    counts = await redis_client.pubsub_numsub(channel_name(query_id))
    for ws in sockets:
        await ws.close()
    assert counts[0][1] == 1
