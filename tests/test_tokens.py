"""Access tokens the API must refuse, each over real HTTP: all 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from onevice.identity.tokens import TokenIssuer
from tests.fix_stack import WebServer

Forge = Callable[[TokenIssuer], str]


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()


def claims_of(issuer: TokenIssuer, **changes: Any) -> dict[str, Any]:
    """Valid claims for ``issuer``, with ``changes`` (None removes a claim)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "user_forger",
        "iss": issuer.issuer,
        "aud": issuer.audience,
        "iat": now,
        "exp": now + 600,
        "role": "Leadership",
        "org_id": "org_onevice_dev",
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def signed(issuer: TokenIssuer, claims: dict[str, Any], **header: Any) -> str:
    """Sign ``claims`` with the issuer's real key; header fields set to None go."""
    key = issuer.keyring.current().active
    fields = {"alg": "RS256", "kid": key.kid, **header}
    fields = {name: value for name, value in fields.items() if value is not None}
    return jwt.encode(fields, claims, key, algorithms=["RS256"])


def unsigned(issuer: TokenIssuer) -> str:
    kid = issuer.keyring.current().active.kid
    return (
        f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(claims_of(issuer))}."
    )


def hmac_with_public_key(issuer: TokenIssuer) -> str:
    """The classic confusion attack: HS256 keyed with the RSA public key.

    Built by hand: joserfc itself refuses to use a public key as an HMAC secret.
    """
    active = issuer.keyring.current().active
    public_pem = RSAKey.import_key(active.as_dict(private=False)).as_pem()
    signing_input = (
        f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': active.kid})}."
        f"{_b64(claims_of(issuer))}"
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def tampered(issuer: TokenIssuer) -> str:
    header, _, signature = signed(issuer, claims_of(issuer, role="Director")).split(".")
    return f"{header}.{_b64(claims_of(issuer, role='Leadership'))}.{signature}"


def by_a_stranger(issuer: TokenIssuer) -> str:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "onevice_key_1"})
    return jwt.encode(
        {"alg": "RS256", "kid": "onevice_key_1"}, claims_of(issuer), stranger
    )


REFUSED: dict[str, Forge] = {
    "alg none": unsigned,
    "HS256 keyed with the public key": hmac_with_public_key,
    "tampered payload": tampered,
    "signed by another key": by_a_stranger,
    "unknown kid": lambda i: signed(i, claims_of(i), kid="onevice_key_999"),
    "no kid": lambda i: signed(i, claims_of(i), kid=None),
    "wrong iss": lambda i: signed(i, claims_of(i, iss="https://evil.example")),
    "wrong aud": lambda i: signed(i, claims_of(i, aud="https://elsewhere")),
    "expired": lambda i: signed(i, claims_of(i, exp=int(time.time()) - 120)),
    "not yet valid": lambda i: signed(i, claims_of(i, nbf=int(time.time()) + 600)),
    "issued in the future": lambda i: signed(
        i, claims_of(i, iat=int(time.time()) + 600)
    ),
    "no exp": lambda i: signed(i, claims_of(i, exp=None)),
    "no sub": lambda i: signed(i, claims_of(i, sub=None)),
    "no role": lambda i: signed(i, claims_of(i, role=None)),
    "unknown role": lambda i: signed(i, claims_of(i, role="Intern")),
    "garbage": lambda i: "not.a.token",
}


async def status_with(web: WebServer, token: str) -> tuple[int, str]:
    async with web.session.get(
        "/queries/query_missing", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        body = await response.json()
    return response.status, body["error"]["code"]


async def test_a_well_formed_token_gets_through(
    web: WebServer, issuer: TokenIssuer
) -> None:
    """The forging helpers make good tokens when left alone (404, not 401)."""
    assert await status_with(web, signed(issuer, claims_of(issuer))) == (
        404,
        "NOT_FOUND",
    )


@pytest.mark.parametrize("forge", REFUSED.values(), ids=REFUSED.keys())
async def test_bad_tokens_are_refused(
    web: WebServer, issuer: TokenIssuer, forge: Forge
) -> None:
    """Each kind of bad token is refused with 401 UNAUTHORIZED."""
    assert await status_with(web, forge(issuer)) == (401, "UNAUTHORIZED")
