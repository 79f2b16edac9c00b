"""Submitting and polling queries over REST, in both modes."""

from __future__ import annotations

import asyncio
from typing import Any

from onevice.identity.tokens import TokenIssuer
from onevice.storage.db import Pool
from tests.fix_stack import MakeUser, User, WebServer
from tests.test_sse import submit


async def poll_until_final(web: WebServer, user: User, query_id: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            async with web.session.get(
                f"/queries/{query_id}", headers=user.headers
            ) as r:
                body: dict[str, Any] = await r.json()
            if body["status"] in ("completed", "failed", "cancelled"):
                return body
            await asyncio.sleep(0.05)


async def test_waiting_post_answers_with_the_result(web: WebServer, user: User) -> None:
    """Without Prefer, the POST waits and answers 200 with the agent's result."""
    async with web.session.post(
        "/agents/test-stream/query",
        json={"query": "hello", "options": {"chunks": 3}},
        headers=user.headers,
    ) as response:
        body = await response.json()
    assert response.status == 200
    assert body["agent"] == "test_stream"
    assert body["query_id"].startswith("query_")
    assert body["result"] == {"summary": "3 parts", "query": "hello"}
    assert body["confidence_score"] == 0.5
    assert body["data_sources"] == ["test"]
    assert isinstance(body["processing_time_ms"], int)


async def test_async_post_answers_202_with_location(web: WebServer, user: User) -> None:
    """With Prefer: respond-async the POST answers 202 and points to the query."""
    async with web.session.post(
        "/agents/test-stream/query",
        json={"query": "hello"},
        headers={**user.headers, "Prefer": "respond-async"},
    ) as response:
        body = await response.json()
    assert response.status == 202
    assert response.headers["Location"] == f"/queries/{body['query_id']}"
    assert body["status"] in ("queued", "running", "completed")


async def test_polling_ends_with_the_same_body_as_the_waiting_post(
    web: WebServer, user: User
) -> None:
    """Once completed, GET /queries/{id} gives the body a waiting POST gives."""
    request = {"query": "same", "options": {"chunks": 2}}
    async with web.session.post(
        "/agents/test-stream/query",
        json=request,
        headers={**user.headers, "Prefer": "respond-async", "Idempotency-Key": "k1"},
    ) as response:
        query_id = (await response.json())["query_id"]
    polled = await poll_until_final(web, user, query_id)
    async with web.session.post(
        "/agents/test-stream/query",
        json=request,
        headers={**user.headers, "Idempotency-Key": "k1"},
    ) as response:
        waited = await response.json()
    assert polled == waited


async def test_idempotent_retry_returns_the_same_query(
    web: WebServer, user: User
) -> None:
    """Repeating a submission with its Idempotency-Key gives the same query."""
    headers = {**user.headers, "Prefer": "respond-async", "Idempotency-Key": "again"}
    ids = []
    for _ in range(2):
        async with web.session.post(
            "/agents/test-stream/query", json={"query": "q"}, headers=headers
        ) as response:
            ids.append((await response.json())["query_id"])
    assert ids[0] == ids[1]


async def test_idempotency_key_with_another_body_conflicts(
    web: WebServer, user: User
) -> None:
    """An Idempotency-Key reused for a different request is refused with 409."""
    headers = {**user.headers, "Prefer": "respond-async", "Idempotency-Key": "reuse"}
    async with web.session.post(
        "/agents/test-stream/query", json={"query": "one"}, headers=headers
    ):
        pass
    async with web.session.post(
        "/agents/test-stream/query", json={"query": "two"}, headers=headers
    ) as response:
        body = await response.json()
    assert (response.status, body["error"]["code"]) == (409, "IDEMPOTENCY_CONFLICT")


async def test_failing_agent_gives_query_failed(web: WebServer, user: User) -> None:
    """An agent that raises ends the query failed, and the waiting POST says so."""
    async with web.session.post(
        "/agents/test-fail/query", json={"query": "boom"}, headers=user.headers
    ) as response:
        body = await response.json()
    assert response.status == 500
    assert body["error"]["code"] == "QUERY_FAILED"
    assert body["error"]["details"]["cause"] == "AGENT_FAILED"


async def test_failed_query_polls_as_failed(web: WebServer, user: User) -> None:
    """Polling a failed query shows status failed and the error."""
    query_id = await submit(web, user, "test-fail", {"query": "boom"})
    body = await poll_until_final(web, user, query_id)
    assert (body["status"], body["error"]["code"]) == ("failed", "AGENT_FAILED")


async def test_someone_elses_query_is_not_found(
    web: WebServer, user: User, make_user: MakeUser
) -> None:
    """A query is visible to its owner only; others get 404 as if it did not exist."""
    query_id = await submit(web, user, "test-stream", {"query": "mine"})
    stranger = make_user("Leadership")
    async with web.session.get(f"/queries/{query_id}", headers=stranger.headers) as r:
        body = await r.json()
    assert (r.status, body["error"]["code"]) == (404, "NOT_FOUND")


async def test_too_many_open_queries_are_refused(
    web: WebServer, user: User, pool: Pool
) -> None:
    """A user with three queries in progress gets 429 with Retry-After for a fourth."""
    headers = {**user.headers, "Prefer": "respond-async"}
    body = {"query": "wait", "options": {"steps": 100}}
    for _ in range(3):
        async with web.session.post(
            "/agents/test-silent/query", json=body, headers=headers
        ) as response:
            assert response.status == 202
    async with web.session.post(
        "/agents/test-silent/query", json=body, headers=headers
    ) as response:
        error = await response.json()
    assert response.status == 429
    assert response.headers["Retry-After"] == "5"
    assert error["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM queries WHERE owner_sub = %s", (user.sub,)
        )
        row = await cursor.fetchone()
    assert row is not None and row["n"] == 3


async def test_the_same_user_id_in_another_org_sees_nothing(
    web: WebServer, user: User, issuer: TokenIssuer
) -> None:
    """A token with the same sub but another organisation cannot read the query."""
    query_id = await submit(web, user, "test-stream", {"query": "mine"})
    other_org = issuer.mint(role=user.role, sub=user.sub, org_id="org_elsewhere")
    async with web.session.get(
        f"/queries/{query_id}", headers={"Authorization": f"Bearer {other_org}"}
    ) as response:
        assert response.status == 404
