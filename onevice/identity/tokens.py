"""Access tokens: RS256 JWTs shaped like spec §4.1, signed and verified with joserfc.

The local issuer signs with the active key of its keyring (see ``keys``); the
verifier accepts a token signed by any key of the keyring, so rotation does not
end the sessions of users holding tokens signed by the previous key.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import orjson
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from onevice.base.errors import AuthenticationError, ValidationError
from onevice.base.settings import Settings
from onevice.identity.keys import KeyringFile
from onevice.identity.remote_keys import RemoteKeySet
from onevice.services.access import (
    DEFAULT_ORG,
    ROLE_PERMISSIONS,
    ROLE_SENSITIVITY_LEVEL,
    ROLES,
    Viewer,
)

DEFAULT_TTL_SECONDS: Final = 3600
ALGORITHMS: Final = ["RS256"]
_LEEWAY_SECONDS: Final = 30


class TokenIssuer:
    """Mints access tokens with the active key of the local keyring."""

    def __init__(
        self, keyring: KeyringFile, *, issuer: str, audience: str, max_ttl: int
    ):
        self.keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.max_ttl = max_ttl

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenIssuer:
        return cls(
            KeyringFile.for_settings(settings),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            max_ttl=settings.max_token_ttl_seconds,
        )

    def mint(
        self,
        *,
        role: str,
        sub: str | None = None,
        org_id: str = DEFAULT_ORG,
        ttl: int = DEFAULT_TTL_SECONDS,
    ) -> str:
        """Return a signed access token for ``role``."""
        if role not in ROLES:
            raise ValidationError.field(
                "role", "Unknown role", provided=role, valid_options=ROLES
            )
        if not 0 < ttl <= self.max_ttl:
            raise ValidationError.field(
                "ttl", f"Must be from 1 to {self.max_ttl} seconds", provided=ttl
            )
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": sub or f"user_{uuid.uuid4().hex[:12]}",
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl,
            "role": role,
            "permissions": list(ROLE_PERMISSIONS[role]),
            "data_sensitivity_level": ROLE_SENSITIVITY_LEVEL[role],
            "org_id": org_id,
        }
        key = self.keyring.current().active
        header = {"alg": "RS256", "typ": "JWT", "kid": key.kid}
        return jwt.encode(header, claims, key, algorithms=ALGORITHMS)


KeysFor = Callable[[str], Awaitable[KeySet]]


@dataclasses.dataclass(frozen=True)
class TrustedIssuer:
    """An issuer whose tokens are accepted, and where its keys come from."""

    issuer: str
    keys_for: KeysFor
    claims: jwt.JWTClaimsRegistry


def claims_registry(issuer: str, audience: str) -> jwt.JWTClaimsRegistry:
    """The claims every accepted token must carry (exp, nbf and iat are checked)."""
    return jwt.JWTClaimsRegistry(
        leeway=_LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        sub={"essential": True},
        role={"essential": True},
    )


class TokenVerifier:
    """Verifies access tokens of the trusted issuers into a :class:`Viewer`.

    The local issuer always; Clerk when ``CLERK_ISSUER`` is set. The token's
    ``iss`` (read before verifying) picks the issuer, whose keys and claims
    then decide.
    """

    def __init__(self, keyring: KeyringFile, issuers: Sequence[TrustedIssuer]):
        self.keyring = keyring
        self.issuers = {trusted.issuer: trusted for trusted in issuers}

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        keyring = KeyringFile.for_settings(settings)

        async def local_keys(_kid: str) -> KeySet:
            return keyring.current().verification_keys()

        issuers = [
            TrustedIssuer(
                settings.jwt_issuer,
                local_keys,
                claims_registry(settings.jwt_issuer, settings.jwt_audience),
            )
        ]
        if settings.clerk_issuer:
            clerk = RemoteKeySet(
                settings.clerk_jwks_url
                or settings.clerk_issuer.rstrip("/") + "/.well-known/jwks.json",
                min_interval=settings.clerk_jwks_min_refresh_seconds,
            )
            issuers.append(
                TrustedIssuer(
                    settings.clerk_issuer,
                    clerk.for_kid,
                    claims_registry(settings.clerk_issuer, settings.jwt_audience),
                )
            )
        return cls(keyring, issuers)

    async def verify(self, token: str) -> Viewer:
        """Return the viewer a valid token names; raise AuthenticationError if not."""
        try:
            kid, trusted = self._issuer_of(token)
            keys = await trusted.keys_for(kid)
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
            trusted.claims.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise AuthenticationError(
                "Invalid or expired access token",
                details={"reason": type(exc).__name__},
            ) from exc
        return viewer_of_claims(decoded.claims)

    def _issuer_of(self, token: str) -> tuple[str, TrustedIssuer]:
        """The token's key id and its trusted issuer, read before verifying."""
        compact = jws.extract_compact(token.encode())
        kid = compact.protected.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ValueError("the token names no key (kid)")
        claimed = orjson.loads(compact.payload).get("iss")
        trusted = self.issuers.get(claimed) if isinstance(claimed, str) else None
        if trusted is None:
            raise ValueError("the token's issuer is not trusted")
        return kid, trusted


def viewer_of_claims(claims: dict[str, Any]) -> Viewer:
    """The viewer named by verified claims; AuthenticationError if they do not fit."""
    role = claims.get("role")
    if role not in ROLES:
        raise AuthenticationError("Access token names an unknown role")
    permissions = claims.get("permissions", list(ROLE_PERMISSIONS[role]))
    level = claims.get("data_sensitivity_level", ROLE_SENSITIVITY_LEVEL[role])
    if (
        not isinstance(permissions, list)
        or isinstance(level, bool)
        or not isinstance(level, int)
    ):
        raise AuthenticationError("Access token claims have the wrong types")
    return Viewer(
        sub=str(claims["sub"]),
        role=str(role),
        org_id=str(claims.get("org_id") or DEFAULT_ORG),
        permissions=tuple(str(p) for p in permissions),
        data_sensitivity_level=level,
        issued_at=claims["iat"] if isinstance(claims.get("iat"), int) else None,
    )
