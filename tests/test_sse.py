"""Server-Sent Events: the stream of a query, and resuming it."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from onevice.services.bus import events_key, meta_key
from tests.fix_stack import User, WebServer


async def submit(web: WebServer, user: User, agent: str, body: dict[str, Any]) -> str:
    async with web.session.post(
        f"/agents/{agent}/query",
        json=body,
        headers={**user.headers, "Prefer": "respond-async"},
    ) as response:
        assert response.status == 202, await response.text()
        query_id: str = (await response.json())["query_id"]
    return query_id


async def read_sse(
    web: WebServer, user: User, query_id: str, last_event_id: str | None = None
) -> list[dict[str, Any]]:
    """Read the whole event stream: id, event name and data of every event."""
    headers = dict(user.headers)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    events: list[dict[str, Any]] = []
    async with web.session.get(f"/queries/{query_id}/events", headers=headers) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        current: dict[str, Any] = {}
        async for raw in r.content:
            line = raw.decode().rstrip("\n")
            if not line:
                if "data" in current:
                    events.append(current)
                current = {}
            elif line.startswith("id: "):
                current["id"] = line[4:]
            elif line.startswith("event: "):
                current["event"] = line[7:]
            elif line.startswith("data: "):
                current["data"] = orjson.loads(line[6:])
    return events


async def test_stream_has_every_chunk_in_order_then_complete(
    web: WebServer, user: User
) -> None:
    """The stream carries chunks 1..n with ids equal to chunk_index, then complete."""
    query_id = await submit(
        web, user, "test-stream", {"query": "q", "options": {"chunks": 6}}
    )
    events = await read_sse(web, user, query_id)
    chunks = [e for e in events if e["event"] == "agent_response_chunk"]
    assert [e["id"] for e in chunks] == ["1", "2", "3", "4", "5", "6"]
    assert [e["data"]["data"]["chunk_index"] for e in chunks] == [1, 2, 3, 4, 5, 6]
    assert events[-1]["event"] == "agent_response_complete"
    assert events[-1]["data"]["data"]["total_chunks"] == 6


async def test_last_event_id_resumes_after_that_chunk(
    web: WebServer, user: User
) -> None:
    """With Last-Event-ID k, the stream restarts at chunk k+1, each chunk once."""
    query_id = await submit(
        web, user, "test-stream", {"query": "q", "options": {"chunks": 6}}
    )
    await read_sse(web, user, query_id)
    events = await read_sse(web, user, query_id, last_event_id="4")
    chunk_ids = [e["id"] for e in events if e["event"] == "agent_response_chunk"]
    assert chunk_ids == ["5", "6"]


async def test_resuming_at_the_final_event_ends_the_stream(
    web: WebServer, user: User
) -> None:
    """Last-Event-ID at or past a finished query's final event: an empty stream."""
    query_id = await submit(
        web, user, "test-stream", {"query": "q", "options": {"chunks": 2}}
    )
    final_id = (await read_sse(web, user, query_id))[-1]["id"]
    async with asyncio.timeout(15):  # a stream that never ends fails here
        at_final = await read_sse(web, user, query_id, last_event_id=final_id)
        past_it = await read_sse(web, user, query_id, last_event_id="99")
    assert (at_final, past_it) == ([], [])


async def test_stream_of_a_failed_query_ends_with_an_error(
    web: WebServer, user: User
) -> None:
    """A failing agent's stream ends with an error event carrying its code."""
    query_id = await submit(web, user, "test-fail", {"query": "q"})
    events = await read_sse(web, user, query_id)
    assert events[-1]["event"] == "error"
    assert events[-1]["data"]["data"]["error_code"] == "AGENT_FAILED"


@pytest.mark.parametrize(
    "last_event_id",
    [
        "x",
        "-1",
        "20000000000000000000",  # past a Redis stream id: refused before streaming
        "1-20000000000000000000",
    ],
)
async def test_bad_last_event_id_is_a_validation_error(
    web: WebServer, user: User, last_event_id: str
) -> None:
    """A Last-Event-ID that is not an event id gets 400 and no stream."""
    query_id = await submit(web, user, "test-stream", {"query": "q"})
    headers = {**user.headers, "Last-Event-ID": last_event_id}
    async with web.session.get(
        f"/queries/{query_id}/events", headers=headers
    ) as response:
        body = await response.json()
    assert (response.status, body["error"]["code"]) == (400, "VALIDATION_ERROR")


async def test_token_in_query_string_is_accepted_for_eventsource(
    web: WebServer, user: User
) -> None:
    """EventSource cannot send headers, so ?token= authenticates the stream."""
    query_id = await submit(
        web, user, "test-stream", {"query": "q", "options": {"chunks": 1}}
    )
    async with web.session.get(
        f"/queries/{query_id}/events", params={"token": user.token}
    ) as response:
        text = await response.text()
    assert response.status == 200
    assert "event: agent_response_complete" in text


async def test_expired_replay_buffer_still_gives_the_outcome(
    web: WebServer, user: User, redis_client: Any
) -> None:
    """When a finished query's stream has expired, SSE still sends its final event."""
    query_id = await submit(
        web, user, "test-stream", {"query": "q", "options": {"chunks": 2}}
    )
    await read_sse(web, user, query_id)
    await redis_client.delete(events_key(query_id), meta_key(query_id))
    events = await read_sse(web, user, query_id)
    assert [e["event"] for e in events] == ["agent_response_complete"]
    assert events[0]["data"]["data"]["total_chunks"] == 2


async def test_someone_elses_event_stream_is_not_found(
    web: WebServer, user: User, make_user: Any
) -> None:
    """The events of a query are its owner's only: anyone else gets 404."""
    query_id = await submit(web, user, "test-stream", {"query": "q"})
    stranger = make_user("Leadership")
    async with web.session.get(
        f"/queries/{query_id}/events", headers=stranger.headers
    ) as response:
        body = await response.json()
    assert (response.status, body["error"]["code"]) == (404, "NOT_FOUND")
