"""A worker that dies mid-query: another one runs it again, the stream stays whole."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from onevice.identity.tokens import TokenIssuer
from onevice.storage.db import open_pool
from tests.fix_services import Isolate
from tests.fix_stack import StartWeb, User, WorkerProcess
from tests.test_websocket import ask, connect, read_through_chunk, receive_until

CHUNKS = 20


@dataclasses.dataclass(frozen=True)
class Rescue:
    """What a client saw of a query whose worker was killed, and its final row."""

    messages: list[dict[str, Any]]
    row: dict[str, Any] | None


@pytest.fixture(scope="module")
async def rescue(
    isolate: Isolate, start_web: StartWeb, issuer: TokenIssuer, session_dir: Path
) -> Rescue:
    """Stream a query, kill -9 its worker after chunk 3, start another worker."""
    # A stack of its own, so only this test's workers see (and rescue) the query.
    settings = await isolate()
    doomed = WorkerProcess(settings, session_dir / "worker-killed.log")
    rescuer = WorkerProcess(settings, session_dir / "worker-rescuer.log")
    web = await start_web(settings)
    sub = f"user_{uuid.uuid4().hex[:8]}"
    user = User(sub, "Director", issuer.mint(role="Director", sub=sub))
    async with open_pool(settings.require_database_url()) as pool:
        try:
            await doomed.start(pool)
            ws = await connect(web, user)
            await ask(ws, chunks=CHUNKS, delay_ms=100)
            seen = await read_through_chunk(ws, 3)
            doomed.kill()
            await rescuer.start(pool)
            # The rescuer's sweep re-sends the query once the dead worker's
            # lease is stale; the broker would also redeliver after its
            # visibility timeout. Whichever comes first, one new attempt runs.
            seen += await receive_until(
                ws, "agent_response_complete", "error", timeout=60
            )
            await ws.close()
        finally:
            await asyncio.to_thread(rescuer.stop)
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT status, attempts FROM queries WHERE id = %s",
                (seen[-1]["data"]["query_id"],),
            )
            row = await cursor.fetchone()
    return Rescue(seen, row)


async def test_the_client_is_told_the_answer_restarted(rescue: Rescue) -> None:
    """Exactly one restart marker reaches the client."""
    markers = [m for m in rescue.messages if m["data"].get("status") == "restarted"]
    assert len(markers) == 1


async def test_chunk_indexes_have_no_gaps_across_the_restart(rescue: Rescue) -> None:
    """Chunk indexes run 1..n without a gap or a repeat, through the restart."""
    marker = next(m for m in rescue.messages if m["data"].get("status") == "restarted")
    cut = marker["data"]["discard_through_chunk"]
    chunks = [m for m in rescue.messages if m["type"] == "agent_response_chunk"]
    assert [m["data"]["chunk_index"] for m in chunks] == list(
        range(1, cut + CHUNKS + 1)
    )


async def test_text_after_the_marker_is_one_whole_answer(rescue: Rescue) -> None:
    """What follows the restart marker is the complete answer of the new attempt."""
    marker = next(m for m in rescue.messages if m["data"].get("status") == "restarted")
    after = rescue.messages[rescue.messages.index(marker) + 1 :]
    contents = [m["data"]["content"] for m in after if "content" in m["data"]]
    assert contents == [f"part {i} of {CHUNKS}. " for i in range(1, CHUNKS + 1)]
    assert after[-1]["type"] == "agent_response_complete"


async def test_the_rerun_is_recorded_as_a_second_attempt(rescue: Rescue) -> None:
    """The query row ends completed with attempts == 2."""
    assert rescue.row == {"status": "completed", "attempts": 2}


async def test_a_stopping_worker_finishes_its_query(
    isolate: Isolate, start_web: StartWeb, issuer: TokenIssuer, session_dir: Path
) -> None:
    """SIGTERM mid-query is a warm shutdown: the answer completes, no restart."""
    settings = await isolate()
    worker = WorkerProcess(settings, session_dir / "worker-stopped.log")
    web = await start_web(settings)
    sub = f"user_{uuid.uuid4().hex[:8]}"
    user = User(sub, "Director", issuer.mint(role="Director", sub=sub))
    async with open_pool(settings.require_database_url()) as pool:
        await worker.start(pool)
    ws = await connect(web, user)
    await ask(ws, chunks=CHUNKS, delay_ms=50)
    seen = await read_through_chunk(ws, 3)
    assert worker.process is not None
    worker.process.send_signal(signal.SIGTERM)
    seen += await receive_until(ws, "agent_response_complete", "error", timeout=60)
    await ws.close()
    await asyncio.to_thread(worker.stop)
    assert seen[-1]["type"] == "agent_response_complete"
    assert not [m for m in seen if m["data"].get("status") == "restarted"]
