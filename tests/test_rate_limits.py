"""Rate limits (spec §1.3, §4.2): per role, per endpoint with bursts, per plan,
across processes, and on WebSocket connections."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import Awaitable, Callable

import aiohttp

from onevice.base.settings import Settings
from onevice.storage.db import Pool
from tests.fix_stack import MakeUser, StartWeb, User, WebServer
from tests.test_errors import count_queries


async def get_missing(web: WebServer, user: User) -> aiohttp.ClientResponse:
    async with web.session.get("/queries/query_missing", headers=user.headers) as r:
        await r.read()
    return r


async def admitted_until_refused(
    send: Callable[[int], Awaitable[aiohttp.ClientResponse]], per_minute: int
) -> tuple[int, int]:
    """Requests admitted before the first 429, and the most the clock refilled.

    A bucket of ``per_minute`` gains one request every 60/per_minute seconds,
    so a run slower than that may be admitted a request or two more than the
    limit: the second figure bounds that from the time the run took.
    """
    started = time.monotonic()
    admitted = 0
    for n in itertools.count():
        if (await send(n)).status == 429 or n > 2 * per_minute:
            break
        admitted += 1
    refilled = int((time.monotonic() - started) * per_minute / 60) + 1
    return admitted, refilled


async def test_responses_carry_ratelimit_headers(web: WebServer, user: User) -> None:
    """An admitted request says its limit and what is left of it."""
    response = await get_missing(web, user)
    assert response.headers["RateLimit-Limit"] == "100"
    assert int(response.headers["RateLimit-Remaining"]) == 99


async def test_agent_queries_allow_a_burst_of_five(
    web: WebServer, user: User, pool: Pool
) -> None:
    """Five quick submissions pass; the sixth gets 429 and stores nothing."""
    statuses = []
    for _ in range(6):
        async with web.session.post(
            "/agents/test-stream/query", json={"query": ""}, headers=user.headers
        ) as response:
            body = await response.json()
            statuses.append(response.status)
    assert statuses == [400] * 5 + [429]
    assert body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert body["error"]["details"]["retry_after"] == int(
        response.headers["Retry-After"]
    )
    assert response.headers["RateLimit-Limit"] == "20"
    assert await count_queries(pool, user) == 0


async def test_the_endpoint_recovers_after_retry_after(
    web: WebServer, user: User
) -> None:
    """Waiting the Retry-After of a 429 is enough to be admitted again."""
    for _ in range(6):
        async with web.session.post(
            "/agents/test-stream/query", json={"query": ""}, headers=user.headers
        ) as response:
            await response.read()
    assert response.status == 429
    await asyncio.sleep(int(response.headers["Retry-After"]))
    async with web.session.post(
        "/agents/test-stream/query", json={"query": ""}, headers=user.headers
    ) as response:
        assert response.status == 400


async def test_a_salesperson_gets_100_requests_a_minute(
    web: WebServer, user: User
) -> None:
    """After 100 quick requests a Salesperson is refused until the bucket refills."""
    admitted, refilled = await admitted_until_refused(
        lambda _: get_missing(web, user), 100
    )
    assert 100 <= admitted <= 100 + refilled


async def test_leadership_gets_more_than_100(
    web: WebServer, make_user: MakeUser
) -> None:
    """Leadership's role limit (500 a minute) lets 150 quick requests through."""
    leader = make_user("Leadership")
    statuses = {(await get_missing(web, leader)).status for _ in range(150)}
    assert statuses == {404}


async def test_a_standard_plan_caps_leadership_at_100(
    start_web: StartWeb, settings: Settings, make_user: MakeUser
) -> None:
    """An organisation on the Standard plan caps even Leadership at 100 a minute."""
    standard = dataclasses.replace(
        settings, org_plans=(("org_onevice_dev", "Standard"),)
    )
    web = await start_web(standard)
    leader = make_user("Leadership")
    admitted, refilled = await admitted_until_refused(
        lambda _: get_missing(web, leader), 100
    )
    await web.close()
    assert 100 <= admitted <= 100 + refilled


async def test_limits_hold_across_web_processes(
    start_web: StartWeb, web: WebServer, user: User
) -> None:
    """Requests spread over two web processes share one budget."""
    other = await start_web()
    admitted, refilled = await admitted_until_refused(
        lambda n: get_missing(web if n < 60 else other, user), 100
    )
    assert 100 <= admitted <= 100 + refilled


async def test_a_salesperson_may_hold_two_sockets(web: WebServer, user: User) -> None:
    """A third simultaneous socket is refused with 429; closing one frees a slot."""
    first = await web.session.ws_connect(web.ws_url(user.token))
    second = await web.session.ws_connect(web.ws_url(user.token))
    async with web.session.get("/ws", params={"token": user.token}) as refused:
        body = await refused.json()
    await first.close()
    third = await web.session.ws_connect(web.ws_url(user.token))
    await second.close()
    await third.close()
    assert (refused.status, body["error"]["code"]) == (429, "RATE_LIMIT_EXCEEDED")
    assert body["error"]["details"]["kind"] == "concurrent_websocket"
