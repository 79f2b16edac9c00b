"""A stand-in for Clerk: a real HTTP server on loopback serving a JWKS."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLERK_ISSUER = "https://clerk.onevice.test"


@dataclasses.dataclass
class FakeClerk:
    """Clerk's signing keys and JWKS endpoint, with a count of fetches."""

    server: TestServer
    keys: list[RSAKey]
    fetches: int = 0
    down: bool = False

    @property
    def jwks_url(self) -> str:
        return str(self.server.make_url("/.well-known/jwks.json"))

    def rotate(self) -> None:
        self.keys.append(new_key())

    def token(self, audience: str, *, kid: str | None = None, **claims: Any) -> str:
        """A session token as Clerk would sign it (role etc. from a JWT template)."""
        key = self.keys[-1]
        now = int(time.time())
        body = {
            "iss": CLERK_ISSUER,
            "aud": audience,
            "sub": f"user_clerk_{uuid.uuid4().hex[:8]}",
            "iat": now,
            "exp": now + 600,
            "role": "Salesperson",
            "org_id": "org_onevice_dev",
            **claims,
        }
        header = {"alg": "RS256", "kid": kid or key.kid}
        return jwt.encode(header, body, key)


def new_key() -> RSAKey:
    return RSAKey.generate_key(
        2048, parameters={"kid": f"ins_{uuid.uuid4().hex[:8]}", "use": "sig"}
    )


@pytest.fixture(scope="session")
def clerk_keys() -> list[RSAKey]:
    """Made outside the event loop: RSA key generation takes a while."""
    return [new_key(), new_key()]


@pytest.fixture
async def clerk(clerk_keys: list[RSAKey]) -> AsyncIterator[FakeClerk]:
    """A Clerk JWKS endpoint on loopback, fresh for each test."""
    app = web.Application()
    fake = FakeClerk(TestServer(app, host="127.0.0.1"), [clerk_keys[0]])

    async def jwks(_request: web.Request) -> web.Response:
        fake.fetches += 1
        if fake.down:
            raise web.HTTPServiceUnavailable()
        public = KeySet(
            [RSAKey.import_key(k.as_dict(private=False)) for k in fake.keys]
        )
        return web.json_response(public.as_dict(private=False))

    app.router.add_get("/.well-known/jwks.json", jwks)
    await fake.server.start_server()
    yield fake
    await fake.server.close()
