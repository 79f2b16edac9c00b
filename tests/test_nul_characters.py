"""Text PostgreSQL cannot store (the NUL character) is refused clearly, not a 500."""

from __future__ import annotations

from typing import Any

import pytest

from onevice.storage.db import Pool
from tests.fix_stack import User, WebServer
from tests.test_websocket import connect, receive


async def queries_of(pool: Pool, user: User) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM queries WHERE owner_sub = %s", (user.sub,)
        )
        row = await cursor.fetchone()
    assert row is not None
    return int(row["n"])


async def test_rest_query_with_a_nul_character_is_refused(
    web: WebServer, user: User, pool: Pool
) -> None:
    """A NUL anywhere in a query's body is a 400 naming the field; nothing is stored."""
    async with web.session.post(
        "/agents/case-study/query",
        json={"query": "hip-hop", "context": {"notes": ["fine", "bad\x00"]}},
        headers=user.headers,
    ) as response:
        body = await response.json()
    assert response.status == 400
    assert body["error"]["details"]["invalid_fields"] == [
        {
            "field": "context.notes[1]",
            "error": "Must not contain the NUL character",
            "provided": "bad\x00",
        }
    ]
    assert await queries_of(pool, user) == 0


async def test_rest_query_with_a_nul_in_a_key_is_refused(
    web: WebServer, user: User
) -> None:
    """A NUL in an object's key is refused like one in a value."""
    async with web.session.post(
        "/agents/sales-intelligence/query",
        json={"query": "Cordae", "criteria": {"a\x00": 1}},
        headers=user.headers,
    ) as response:
        body = await response.json()
    assert response.status == 400
    fields = [entry["field"] for entry in body["error"]["details"]["invalid_fields"]]
    assert fields == ["criteria.a\x00"]


async def test_websocket_query_with_a_nul_character_gets_an_error(
    web: WebServer, user: User, pool: Pool
) -> None:
    """Over WebSocket such a body gets a VALIDATION_ERROR; the socket stays open."""
    ws = await connect(web, user)
    await ws.send_json(
        {"type": "agent_query", "data": {"agent": "case_study", "query": "a\x00b"}}
    )
    error = await receive(ws)
    await ws.send_json({"type": "ping"})
    pong = await receive(ws)
    await ws.close()
    assert error["data"]["error_code"] == "VALIDATION_ERROR"
    assert pong["type"] == "pong"
    assert await queries_of(pool, user) == 0


async def test_websocket_message_id_with_a_nul_character_gets_an_error(
    web: WebServer, user: User, pool: Pool
) -> None:
    """A message_id (the idempotency key of a query) with a NUL is refused."""
    ws = await connect(web, user)
    await ws.send_json(
        {
            "type": "agent_query",
            "message_id": "m\x00",
            "data": {"agent": "case_study", "query": "hip-hop"},
        }
    )
    error = await receive(ws)
    await ws.close()
    assert error["data"]["details"]["invalid_fields"][0]["field"] == "message_id"
    assert await queries_of(pool, user) == 0


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/queries/q%00", None),
        ("POST", "/queries/q%00/cancel", None),
        ("POST", "/queries/q%00/feedback", {"rating": 4}),
        ("GET", "/queries/q%00/events", None),
    ],
)
async def test_query_id_with_a_nul_character_is_not_found(
    web: WebServer, user: User, method: str, path: str, payload: Any
) -> None:
    """No query id holds a NUL, so any route asking for one is 404, not a crash."""
    async with web.session.request(
        method, path, json=payload, headers=user.headers
    ) as response:
        body = await response.json()
    assert response.status == 404
    assert body["error"]["code"] == "NOT_FOUND"


async def test_project_id_with_a_nul_character_is_not_found(
    web: WebServer, user: User
) -> None:
    """No project id holds a NUL, so asking for one is 404, not a crash."""
    async with web.session.get("/projects/p%00", headers=user.headers) as response:
        body = await response.json()
    assert response.status == 404
    assert body["error"]["code"] == "NOT_FOUND"
