"""Access tokens: RS256 JWTs shaped like spec §4.1, signed and verified with joserfc.

The local issuer keeps its private key as a JWK file under the data dir
(created on first use, readable by the owner only). The web tier verifies with the
public half; ``/.well-known/jwks.json`` can publish it.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from onevice.base.errors import AuthenticationError, ValidationError
from onevice.base.settings import Settings, SettingsError
from onevice.services.access import (
    ROLE_PERMISSIONS,
    ROLE_SENSITIVITY_LEVEL,
    ROLES,
    Viewer,
)

KEY_ID = "onevice_key_1"
DEFAULT_ORG = "org_onevice_dev"
DEFAULT_TTL_SECONDS = 3600
_LEEWAY_SECONDS = 30


def signing_key(settings: Settings) -> RSAKey:
    """The issuer's private key: created on first use in development only.

    In production every web instance must sign and verify with the same key, so
    a missing key file is an error there, never a reason to make a new one.
    """
    path = settings.signing_key_path
    if settings.env == "production" and not path.exists():
        raise SettingsError(
            f"signing key {path} is missing; set ONEVICE_SIGNING_KEY_FILE to the "
            "private JWK shared by all web instances"
        )
    return load_or_create_signing_key(path)


def load_or_create_signing_key(path: Path) -> RSAKey:
    """Read the issuer's private JWK, creating it (mode 0600) if it is missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig"})
        data = orjson.dumps(key.as_dict(private=True))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; use theirs
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
    return RSAKey.import_key(orjson.loads(path.read_bytes()))


class TokenIssuer:
    """Mints access tokens for the local issuer."""

    def __init__(self, key: RSAKey, *, issuer: str, audience: str):
        self.key = key
        self.issuer = issuer
        self.audience = audience

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenIssuer:
        return cls(
            signing_key(settings),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
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
        if ttl <= 0:
            raise ValidationError.field("ttl", "Must be positive", provided=ttl)
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
        header = {"alg": "RS256", "typ": "JWT", "kid": self.key.kid}
        return jwt.encode(header, claims, self.key)


class TokenVerifier:
    """Verifies access tokens and turns their claims into a :class:`Viewer`."""

    def __init__(self, keys: KeySet, *, issuer: str, audience: str):
        self.keys = keys
        self.claims = jwt.JWTClaimsRegistry(
            leeway=_LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
            role={"essential": True},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        key = signing_key(settings)
        public = RSAKey.import_key(key.as_dict(private=False))
        return cls(
            KeySet([public]), issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )

    def verify(self, token: str) -> Viewer:
        """Return the viewer a valid token names; raise AuthenticationError if not."""
        try:
            decoded = jwt.decode(token, self.keys, algorithms=["RS256"])
            self.claims.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise AuthenticationError(
                "Invalid or expired access token",
                details={"reason": type(exc).__name__},
            ) from exc
        claims = decoded.claims
        role = claims.get("role")
        if role not in ROLES:
            raise AuthenticationError("Access token names an unknown role")
        return Viewer(
            sub=str(claims["sub"]),
            role=str(role),
            org_id=str(claims.get("org_id") or DEFAULT_ORG),
            permissions=tuple(
                str(p) for p in claims.get("permissions") or ROLE_PERMISSIONS[role]
            ),
            data_sensitivity_level=int(
                claims.get("data_sensitivity_level") or ROLE_SENSITIVITY_LEVEL[role]
            ),
        )
