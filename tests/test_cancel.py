"""Cancelling queries: queued ones at once, running ones at their next step."""

from __future__ import annotations

import asyncio

from onevice.agents.submission import QueryService
from onevice.services.access import Viewer
from tests.fix_stack import User, WebServer
from tests.test_sse import read_sse, submit
from web.keys import QUERIES


async def test_cancel_stops_a_running_query(web: WebServer, user: User) -> None:
    """A running query that is cancelled ends cancelled, well before it would finish."""
    query_id = await submit(
        web,
        user,
        "test-stream",
        {"query": "q", "options": {"chunks": 200, "delay_ms": 20}},
    )
    await asyncio.sleep(0.3)
    async with web.session.post(
        f"/queries/{query_id}/cancel", headers=user.headers
    ) as response:
        assert response.status in (200, 202)
    events = await read_sse(web, user, query_id)
    assert events[-1]["data"]["data"]["error_code"] == "QUERY_CANCELLED"
    chunks = [e for e in events if e["event"] == "agent_response_chunk"]
    assert len(chunks) < 200


async def test_cancel_reaches_an_agent_that_does_not_write(
    web: WebServer, user: User
) -> None:
    """An agent in a long silent step sees the cancel through check_cancelled."""
    query_id = await submit(
        web, user, "test-silent", {"query": "q", "options": {"steps": 400}}
    )
    await asyncio.sleep(0.3)
    async with web.session.post(f"/queries/{query_id}/cancel", headers=user.headers):
        pass
    async with asyncio.timeout(10):
        events = await read_sse(web, user, query_id)
    assert events[-1]["data"]["data"]["error_code"] == "QUERY_CANCELLED"


async def test_cancel_of_a_queued_query_is_immediate(
    web: WebServer, user: User
) -> None:
    """A query no worker has started is cancelled at once, with its final event."""
    service: QueryService = web.server.app[QUERIES]
    viewer = Viewer(sub=user.sub, role=user.role, org_id="org_onevice_dev")
    # Stored but never sent to the queue: it stays queued for this test.
    record, _ = await service.store.submit(
        viewer, "test_stream", {"query": "q"}, idempotency_key=None, max_open=3
    )
    async with web.session.post(
        f"/queries/{record.id}/cancel", headers=user.headers
    ) as response:
        body = await response.json()
    assert (response.status, body["status"]) == (200, "cancelled")
    events = await read_sse(web, user, record.id)
    assert [e["data"]["data"]["error_code"] for e in events] == ["QUERY_CANCELLED"]


async def test_cancel_of_a_finished_query_conflicts(web: WebServer, user: User) -> None:
    """Cancelling a query that already ended answers 409 QUERY_FINISHED."""
    query_id = await submit(
        web, user, "test-stream", {"query": "q", "options": {"chunks": 1}}
    )
    await read_sse(web, user, query_id)
    async with web.session.post(
        f"/queries/{query_id}/cancel", headers=user.headers
    ) as response:
        body = await response.json()
    assert (response.status, body["error"]["code"]) == (409, "QUERY_FINISHED")
