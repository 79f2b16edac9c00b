"""Tokens from Clerk: verified with its JWKS, fetched sparingly."""

from __future__ import annotations

import asyncio
import dataclasses

from joserfc.jwk import RSAKey

from onevice.base.settings import Settings
from tests.fix_clerk import CLERK_ISSUER, FakeClerk
from tests.fix_stack import StartWeb, WebServer


async def with_clerk(
    start_web: StartWeb, settings: Settings, clerk: FakeClerk, min_refresh: float = 10
) -> WebServer:
    return await start_web(
        dataclasses.replace(
            settings,
            clerk_issuer=CLERK_ISSUER,
            clerk_jwks_url=clerk.jwks_url,
            clerk_jwks_min_refresh_seconds=min_refresh,
        )
    )


async def status(web: WebServer, token: str) -> int:
    async with web.session.get(
        "/queries/query_missing", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status


async def test_a_clerk_token_is_accepted_and_keys_are_fetched_once(
    start_web: StartWeb, settings: Settings, clerk: FakeClerk
) -> None:
    """Five requests with Clerk tokens: all authenticated, one JWKS fetch."""
    web = await with_clerk(start_web, settings, clerk)
    statuses = [await status(web, clerk.token(settings.jwt_audience)) for _ in range(5)]
    await web.close()
    assert statuses == [404] * 5
    assert clerk.fetches == 1


async def test_a_rotated_clerk_key_is_picked_up(
    start_web: StartWeb, settings: Settings, clerk: FakeClerk, clerk_keys: list[RSAKey]
) -> None:
    """A token signed with Clerk's new key triggers one refetch and is accepted."""
    web = await with_clerk(start_web, settings, clerk, min_refresh=0.2)
    first = await status(web, clerk.token(settings.jwt_audience))
    clerk.keys.append(clerk_keys[1])
    await asyncio.sleep(0.3)  # past the least time between refetches
    second = await status(web, clerk.token(settings.jwt_audience))
    await web.close()
    assert (first, second, clerk.fetches) == (404, 404, 2)


async def test_made_up_key_ids_cause_at_most_one_refetch(
    start_web: StartWeb, settings: Settings, clerk: FakeClerk
) -> None:
    """Tokens naming unknown keys are refused without a fetch per token."""
    web = await with_clerk(start_web, settings, clerk)
    await status(web, clerk.token(settings.jwt_audience))
    statuses = [
        await status(web, clerk.token(settings.jwt_audience, kid=f"made_up_{n}"))
        for n in range(5)
    ]
    await web.close()
    assert statuses == [401] * 5
    assert clerk.fetches <= 2


async def test_a_clerk_token_for_another_audience_is_refused(
    start_web: StartWeb, settings: Settings, clerk: FakeClerk
) -> None:
    """Clerk's signature is not enough: the audience must be ours."""
    web = await with_clerk(start_web, settings, clerk)
    code = await status(web, clerk.token("https://someone-else.example"))
    await web.close()
    assert code == 401


async def test_clerk_unreachable_is_503_not_401(
    start_web: StartWeb, settings: Settings, clerk: FakeClerk
) -> None:
    """When Clerk's keys cannot be fetched, the answer is 503: the token may be fine."""
    clerk.down = True
    web = await with_clerk(start_web, settings, clerk)
    code = await status(web, clerk.token(settings.jwt_audience))
    await web.close()
    assert code == 503
