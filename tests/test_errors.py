"""Bad input and missing things: spec §5 error bodies, and nothing changed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from onevice.storage.db import Pool
from tests.fix_stack import User, WebServer


async def count_queries(pool: Pool, user: User) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM queries WHERE owner_sub = %s", (user.sub,)
        )
        row = await cursor.fetchone()
    assert row is not None
    return int(row["n"])


def assert_error_shape(body: dict[str, Any], code: str) -> None:
    error = body["error"]
    assert error["code"] == code
    assert set(error) >= {"code", "message", "details", "timestamp", "request_id"}
    assert error["request_id"].startswith("req_")


async def test_missing_token_is_401(web: WebServer) -> None:
    """A request without a bearer token gets 401 in the spec's error shape."""
    async with web.session.post("/agents/test-stream/query", json={"query": "q"}) as r:
        body = await r.json()
    assert r.status == 401
    assert_error_shape(body, "UNAUTHORIZED")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"{broken", "body"),
        (b"[1, 2]", "body"),
        (b'{"query": ""}', "query"),
        (b'{"query": "   "}', "query"),
        (b'{"query": 42}', "query"),
        (b'{"query": "q", "context": "text"}', "context"),
        (b'{"query": "q", "options": {"max_tokens": "many"}}', "options.max_tokens"),
        (b'{"query": "q", "surprise": 1}', "surprise"),
        (b'{"query": "a\\u0000b"}', "query"),
        (
            b'{"query": "q", "context": {"client_name": ["x\\u0000"]}}',
            "context.client_name[0]",
        ),
    ],
)
async def test_bad_bodies_are_validation_errors_that_store_nothing(
    web: WebServer, user: User, pool: Pool, payload: bytes, field: str
) -> None:
    """Malformed or invalid bodies get 400 naming the field, and store no query."""
    async with web.session.post(
        "/agents/test-stream/query",
        data=payload,
        headers={**user.headers, "Content-Type": "application/json"},
    ) as r:
        body = await r.json()
    assert r.status == 400
    assert_error_shape(body, "VALIDATION_ERROR")
    assert body["error"]["details"]["invalid_fields"][0]["field"] == field
    assert await count_queries(pool, user) == 0


async def test_oversize_body_is_413(web: WebServer, user: User, pool: Pool) -> None:
    """A body above the configured limit is refused with 413 and stores nothing."""
    async with web.session.post(
        "/agents/test-stream/query",
        json={"query": "x" * 40_000},
        headers=user.headers,
    ) as r:
        body = await r.json()
    assert r.status == 413
    assert_error_shape(body, "PAYLOAD_TOO_LARGE")
    assert await count_queries(pool, user) == 0


async def test_unknown_agent_is_404_with_valid_options(
    web: WebServer, user: User
) -> None:
    """An unknown agent in the URL is 404 and names the agents that exist."""
    async with web.session.post(
        "/agents/fortune-teller/query", json={"query": "q"}, headers=user.headers
    ) as r:
        body = await r.json()
    assert r.status == 404
    assert "case-study" in body["error"]["details"]["valid_options"]


async def test_unknown_route_is_404_in_the_error_shape(web: WebServer) -> None:
    """Unknown paths get the spec's error body too."""
    async with web.session.get("/nowhere") as r:
        body = await r.json()
    assert r.status == 404
    assert_error_shape(body, "NOT_FOUND")


async def test_unknown_query_id_is_404(web: WebServer, user: User) -> None:
    """A query id that does not exist is 404."""
    async with web.session.get("/queries/query_missing", headers=user.headers) as r:
        body = await r.json()
    assert (r.status, body["error"]["code"]) == (404, "NOT_FOUND")


async def test_wrong_method_is_405(web: WebServer, user: User) -> None:
    """A known path with the wrong method is 405 in the error shape."""
    async with web.session.delete("/queries/query_x", headers=user.headers) as r:
        body = await r.json()
    assert (r.status, body["error"]["code"]) == (405, "METHOD_NOT_ALLOWED")


async def test_token_in_the_query_string_is_not_accepted_for_rest(
    web: WebServer, user: User
) -> None:
    """Only the socket and event-stream endpoints take ?token=; REST needs a header."""
    async with web.session.get(
        "/queries/query_x", params={"token": user.token}
    ) as response:
        body = await response.json()
    assert (response.status, body["error"]["code"]) == (401, "UNAUTHORIZED")


async def test_oversized_idempotency_key_is_refused(
    web: WebServer, user: User, pool: Pool
) -> None:
    """An Idempotency-Key over 200 characters is a validation error, nothing stored."""
    async with web.session.post(
        "/agents/test-stream/query",
        json={"query": "q"},
        headers={**user.headers, "Idempotency-Key": "k" * 201},
    ) as response:
        body = await response.json()
    assert response.status == 400
    assert body["error"]["details"]["invalid_fields"][0]["field"] == "Idempotency-Key"
    assert await count_queries(pool, user) == 0


async def raw_request(
    web: WebServer, head: str, raw_header: bytes, body: bytes = b""
) -> tuple[int, Any]:
    """Send ``head``, one header of raw bytes and ``body``; the status and reply.

    Client libraries will not send bytes that are not text, hence the socket.
    """
    assert web.server.port is not None
    reader, writer = await asyncio.open_connection(web.server.host, web.server.port)
    length = f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    writer.write(head.encode() + raw_header + length.encode() + body)
    reply = await reader.read()
    writer.close()
    status_line, _, rest = reply.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


async def test_undecodable_idempotency_key_gets_an_error_body(
    web: WebServer, user: User
) -> None:
    """An Idempotency-Key of bytes that are not UTF-8: 400 in the error shape."""
    head = (
        "POST /agents/test-stream/query HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {user.token}\r\nIdempotency-Key: "
    )
    status, body = await raw_request(web, head, b"\xff\xfe-key", b'{"query": "q"}')
    assert status == 400
    assert_error_shape(body, "VALIDATION_ERROR")


async def test_undecodable_last_event_id_gets_an_error_body(
    web: WebServer, user: User
) -> None:
    """A Last-Event-ID of bytes that are not UTF-8: 400 in the error shape."""
    async with web.session.post(
        "/agents/test-stream/query",
        json={"query": "q", "options": {"chunks": 1}},
        headers=user.headers,
    ) as response:
        query_id = (await response.json())["query_id"]
    head = (
        f"GET /queries/{query_id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {user.token}\r\nLast-Event-ID: "
    )
    status, body = await raw_request(web, head, b"\xff\xfe")
    assert status == 400
    assert_error_shape(body, "VALIDATION_ERROR")
