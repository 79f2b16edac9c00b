"""POST /auth/refresh: single use, rotation, and revoking a family on reuse."""

from __future__ import annotations

import uuid
from typing import Any

from onevice.services.access import Viewer
from onevice.storage.db import Pool
from onevice.storage.refresh_tokens import token_hash
from tests.fix_stack import WebServer
from web.keys import SESSIONS


async def sign_in(web: WebServer) -> dict[str, Any]:
    """A session as a sign-in flow would start it."""
    viewer = Viewer(
        sub=f"user_{uuid.uuid4().hex[:10]}", role="Director", org_id="org_onevice_dev"
    )
    return await web.server.app[SESSIONS].start(viewer)


async def refresh(web: WebServer, token: str) -> tuple[int, dict[str, Any]]:
    async with web.session.post(
        "/auth/refresh", json={"refresh_token": token}
    ) as response:
        return response.status, await response.json()


async def test_refresh_gives_a_working_access_token_and_a_new_refresh_token(
    web: WebServer,
) -> None:
    """A refresh answers 200 with a usable access token and a new refresh token."""
    session = await sign_in(web)
    status, renewed = await refresh(web, session["refresh_token"])
    async with web.session.get(
        "/users/profile",
        headers={"Authorization": f"Bearer {renewed['access_token']}"},
    ) as response:
        profile = await response.json()
    assert status == 200
    assert renewed["refresh_token"] != session["refresh_token"]
    assert (renewed["expires_in"], profile["role"]) == (3600, "Director")


async def test_a_spent_refresh_token_revokes_its_family(web: WebServer) -> None:
    """Reusing a spent token is refused, and so is the token that replaced it."""
    session = await sign_in(web)
    _, renewed = await refresh(web, session["refresh_token"])
    reuse_status, reuse = await refresh(web, session["refresh_token"])
    after_status, _ = await refresh(web, renewed["refresh_token"])
    assert (reuse_status, reuse["error"]["code"]) == (401, "UNAUTHORIZED")
    assert after_status == 401


async def test_an_unknown_refresh_token_is_refused(web: WebServer) -> None:
    """A token that was never issued gets 401 in the spec's error shape."""
    status, body = await refresh(web, "rt_not-a-real-token")
    assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED")


async def test_an_expired_refresh_token_is_refused(web: WebServer, pool: Pool) -> None:
    """A refresh token past its expiry gets 401."""
    session = await sign_in(web)
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE refresh_tokens SET expires_at = now() - interval '1 second'"
            " WHERE token_hash = %s",
            (token_hash(session["refresh_token"]),),
        )
    status, _ = await refresh(web, session["refresh_token"])
    assert status == 401


async def test_refresh_tokens_are_stored_only_as_hashes(
    web: WebServer, pool: Pool
) -> None:
    """The database holds the token's hash, never the token."""
    token = (await sign_in(web))["refresh_token"]
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) FILTER (WHERE token_hash = %s) AS plain,"
            " count(*) FILTER (WHERE token_hash = %s) AS hashed FROM refresh_tokens",
            (token, token_hash(token)),
        )
        row = await cursor.fetchone()
    assert row == {"plain": 0, "hashed": 1}


async def test_a_body_without_a_refresh_token_is_a_validation_error(
    web: WebServer,
) -> None:
    """A refresh request without its token gets 400 naming the field."""
    async with web.session.post("/auth/refresh", json={}) as response:
        body = await response.json()
    field = body["error"]["details"]["invalid_fields"][0]["field"]
    assert (response.status, field) == (400, "refresh_token")
