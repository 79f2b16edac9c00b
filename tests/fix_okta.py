"""A stand-in for Okta: an OpenID provider served on loopback, with real signed
ID tokens. Tests play the user's part with ``approve``."""

from __future__ import annotations

import base64
import dataclasses
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "onevice-test-client"
CLIENT_SECRET = "test-client-secret"
REDIRECT_URI = "https://app.onevice.test/sso/callback"


@dataclasses.dataclass
class Grant:
    """What the provider remembers about an authorization code."""

    nonce: str
    sub: str
    email: str
    groups: list[str]
    redirect_uri: str
    used: bool = False


@dataclasses.dataclass
class FakeOkta:
    """The provider's keys, codes, and what the next ID token should get wrong."""

    server: TestServer
    key: RSAKey
    grants: dict[str, Grant] = dataclasses.field(default_factory=dict)
    id_token_changes: dict[str, Any] = dataclasses.field(default_factory=dict)
    signing_key: RSAKey | None = None

    @property
    def issuer(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def approve(
        self,
        authorization_url: str,
        *,
        groups: list[str],
        email: str = "ana@company.com",
        sub: str | None = None,
    ) -> str:
        """Sign the user in at the authorization URL; the code Okta sends back."""
        query = {
            k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()
        }
        assert query["client_id"] == CLIENT_ID
        assert query["response_type"] == "code"
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(
            nonce=query["nonce"],
            sub=sub or f"00u{secrets.token_hex(6)}",
            email=email,
            groups=groups,
            redirect_uri=query["redirect_uri"],
        )
        return code

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": grant.sub,
            "email": grant.email,
            "groups": grant.groups,
            "nonce": grant.nonce,
            "iat": now,
            "exp": now + 300,
            **self.id_token_changes,
        }
        key = self.signing_key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


@pytest.fixture(scope="session")
def okta_keys() -> tuple[RSAKey, RSAKey]:
    """The provider's key and a stranger's, made outside the event loop."""
    return (
        RSAKey.generate_key(2048, parameters={"kid": "okta-key-1"}),
        RSAKey.generate_key(2048, parameters={"kid": "okta-key-1"}),
    )


@pytest.fixture
async def okta(okta_keys: tuple[RSAKey, RSAKey]) -> AsyncIterator[FakeOkta]:
    """An OpenID provider on loopback: discovery, keys, and the token endpoint."""
    app = web.Application()
    fake = FakeOkta(TestServer(app, host="127.0.0.1"), okta_keys[0])

    async def discovery(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": fake.issuer,
                "authorization_endpoint": f"{fake.issuer}/oauth2/v1/authorize",
                "token_endpoint": f"{fake.issuer}/oauth2/v1/token",
                "jwks_uri": f"{fake.issuer}/oauth2/v1/keys",
            }
        )

    async def keys(_request: web.Request) -> web.Response:
        public = RSAKey.import_key(fake.key.as_dict(private=False))
        return web.json_response(KeySet([public]).as_dict(private=False))

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        if request.headers.get("Authorization") != basic_auth():
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = fake.grants.get(str(form.get("code")))
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant.used
            or form.get("redirect_uri") != grant.redirect_uri
        ):
            return web.json_response({"error": "invalid_grant"}, status=400)
        grant.used = True
        return web.json_response(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": fake.id_token(grant),
            }
        )

    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/oauth2/v1/keys", keys)
    app.router.add_post("/oauth2/v1/token", token)
    await fake.server.start_server()
    yield fake
    await fake.server.close()


def basic_auth() -> str:
    pair = f"{CLIENT_ID}:{CLIENT_SECRET}".encode()
    return "Basic " + base64.b64encode(pair).decode()
