"""Signing in with Okta: OpenID Connect's authorization-code flow.

1. ``begin``: a fresh ``state`` (against request forgery) and ``nonce`` (against
   ID token replay) are kept in Redis for ten minutes, and the user is sent to
   Okta's authorization endpoint (from its discovery document).
2. ``complete``: the ``state`` coming back must be one we issued, and is spent
   on use. The code is exchanged at Okta's token endpoint (authlib's OAuth 2
   client, client secret over HTTP Basic). The ID token's signature is checked
   against Okta's JWKS, and its ``iss``, ``aud`` (our client id), ``exp`` and
   ``nonce``. The user's Okta groups give their OneVice role, by configuration.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from typing import Any, Final

import aiohttp
import httpx
import redis.asyncio as aioredis
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from joserfc import jws, jwt
from joserfc.errors import JoseError

from onevice.base.errors import (
    AuthenticationError,
    DependencyUnavailable,
    OneViceError,
    ServiceUnavailable,
    ValidationError,
)
from onevice.base.settings import Settings, SettingsError
from onevice.identity.remote_keys import RemoteKeySet, require_https
from onevice.services.access import (
    ROLE_PERMISSIONS,
    ROLE_SENSITIVITY_LEVEL,
    ROLES,
    Viewer,
)

STATE_TTL_SECONDS: Final = 600
SCOPE: Final = "openid email profile groups"
_HTTP_TIMEOUT: Final = 10.0


class NoRoleForGroups(OneViceError):
    """The user signed in, but none of their Okta groups maps to a role."""

    status = 403
    code = "FORBIDDEN"


@dataclasses.dataclass(frozen=True)
class SignedIn:
    """Who signed in: the viewer to issue tokens for, and their email."""

    viewer: Viewer
    email: str | None


class OktaSSO:
    """The Okta client of one OneVice deployment."""

    def __init__(self, settings: Settings, client: aioredis.Redis):
        if not (
            settings.okta_issuer
            and settings.okta_client_id
            and settings.okta_client_secret
            and settings.okta_redirect_uri
        ):
            raise ServiceUnavailable(
                "Sign-in with Okta is not configured on this server",
                details={
                    "settings": [
                        "OKTA_ISSUER",
                        "OKTA_CLIENT_ID",
                        "OKTA_CLIENT_SECRET",
                        "OKTA_REDIRECT_URI",
                    ]
                },
            )
        require_https(settings.okta_issuer, "OKTA_ISSUER")
        unknown = [role for _, role in settings.okta_group_roles if role not in ROLES]
        if unknown:
            raise SettingsError(f"OKTA_GROUP_ROLES names unknown roles: {unknown}")
        self.issuer = settings.okta_issuer.rstrip("/")
        self.client_id = settings.okta_client_id
        self.client_secret = settings.okta_client_secret
        self.redirect_uri = settings.okta_redirect_uri
        self.group_roles = settings.okta_group_roles
        self.org_id = settings.okta_org_id
        self.redis = client
        self._discovery: dict[str, Any] | None = None
        self._keys: RemoteKeySet | None = None

    async def begin(self) -> dict[str, Any]:
        """Where to send the user to sign in, with a state to bring back."""
        discovery = await self.discovery()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        await self.redis.set(_state_key(state), nonce, ex=STATE_TTL_SECONDS)
        async with self._oauth_client() as client:
            url, _ = client.create_authorization_url(
                discovery["authorization_endpoint"], state=state, nonce=nonce
            )
        return {
            "authorization_url": url,
            "state": state,
            "expires_in": STATE_TTL_SECONDS,
        }

    async def complete(self, code: str, state: str) -> SignedIn:
        """Exchange the code Okta sent back for the user it signed in."""
        nonce = await self.redis.getdel(_state_key(state))
        if nonce is None:
            raise ValidationError.field(
                "state", "Unknown, used or expired sign-in state", provided=None
            )
        discovery = await self.discovery()
        id_token = await self._exchange(discovery["token_endpoint"], code)
        expected = nonce.decode() if isinstance(nonce, bytes) else str(nonce)
        claims = await self._verify(id_token, expected)
        role = self._role_of(claims.get("groups"))
        viewer = Viewer(
            sub=f"okta_{claims['sub']}",
            role=role,
            org_id=self.org_id,
            permissions=ROLE_PERMISSIONS[role],
            data_sensitivity_level=ROLE_SENSITIVITY_LEVEL[role],
            issued_at=int(time.time()),
        )
        email = claims.get("email")
        return SignedIn(viewer, email if isinstance(email, str) else None)

    async def discovery(self) -> dict[str, Any]:
        """Okta's OpenID discovery document (fetched once)."""
        if self._discovery is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            try:
                timeout = aiohttp.ClientTimeout(total=_HTTP_TIMEOUT)
                async with (
                    aiohttp.ClientSession(timeout=timeout) as session,
                    session.get(url) as response,
                ):
                    response.raise_for_status()
                    document = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise DependencyUnavailable(
                    "Okta cannot be reached", details={"dependency": "okta"}
                ) from exc
            if document.get("issuer", "").rstrip("/") != self.issuer:
                raise DependencyUnavailable(
                    "Okta's discovery document names another issuer",
                    details={"dependency": "okta"},
                )
            self._discovery = document
            self._keys = RemoteKeySet(document["jwks_uri"])
        return self._discovery

    def _oauth_client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            redirect_uri=self.redirect_uri,
            scope=SCOPE,
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106
            timeout=_HTTP_TIMEOUT,
        )

    async def _exchange(self, token_endpoint: str, code: str) -> str:
        try:
            async with self._oauth_client() as client:
                token = await client.fetch_token(
                    token_endpoint, code=code, grant_type="authorization_code"
                )
        except OAuthError as exc:
            raise AuthenticationError(
                "Okta refused the sign-in code", details={"okta_error": exc.error}
            ) from exc
        except httpx.HTTPError as exc:
            raise DependencyUnavailable(
                "Okta cannot be reached", details={"dependency": "okta"}
            ) from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise AuthenticationError("Okta's answer has no ID token")
        return id_token

    async def _verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        assert self._keys is not None
        registry = jwt.JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            kid = jws.extract_compact(id_token.encode()).protected.get("kid")
            if not isinstance(kid, str):
                raise ValueError("the ID token names no key")
            keys = await self._keys.for_kid(kid)
            decoded = jwt.decode(id_token, keys, algorithms=["RS256"])
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise AuthenticationError(
                "Okta's ID token did not verify", details={"reason": type(exc).__name__}
            ) from exc
        return decoded.claims

    def _role_of(self, groups: Any) -> str:
        names = set(groups) if isinstance(groups, list) else set()
        for group, role in self.group_roles:
            if group in names:
                return role
        raise NoRoleForGroups(
            "None of your Okta groups gives access to OneVice",
            details={"groups": sorted(str(name) for name in names)},
        )


def _state_key(state: str) -> str:
    return f"onevice:oidc-state:{state}"
