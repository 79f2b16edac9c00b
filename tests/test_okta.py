"""Signing in with Okta (OpenID Connect code flow) against a provider on loopback."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from onevice.base.settings import Settings
from tests.fix_okta import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, FakeOkta
from tests.fix_stack import StartWeb, WebServer


@pytest.fixture
async def web_with_okta(
    start_web: StartWeb, settings: Settings, okta: FakeOkta
) -> WebServer:
    return await start_web(
        dataclasses.replace(
            settings,
            okta_issuer=okta.issuer,
            okta_client_id=CLIENT_ID,
            okta_client_secret=CLIENT_SECRET,
            okta_redirect_uri=REDIRECT_URI,
            okta_group_roles=(
                ("OneVice Execs", "Leadership"),
                ("Sales", "Salesperson"),
            ),
        )
    )


async def begin(web: WebServer) -> dict[str, Any]:
    async with web.session.get("/auth/sso/okta") as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
    return body


async def complete(web: WebServer, code: str, state: str) -> tuple[int, dict[str, Any]]:
    async with web.session.post(
        "/auth/sso/okta", json={"code": code, "state": state}
    ) as response:
        return response.status, await response.json()


async def sign_in(
    web: WebServer, okta: FakeOkta, groups: list[str]
) -> tuple[int, dict[str, Any]]:
    started = await begin(web)
    code = okta.approve(started["authorization_url"], groups=groups)
    return await complete(web, code, started["state"])


async def test_sign_in_gives_tokens_and_the_user_with_a_mapped_role(
    web_with_okta: WebServer, okta: FakeOkta
) -> None:
    """An Okta user in "Sales" signs in as a Salesperson with working tokens."""
    status, body = await sign_in(web_with_okta, okta, ["Everyone", "Sales"])
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    async with web_with_okta.session.get("/users/profile", headers=headers) as r:
        profile = await r.json()
    assert status == 200
    assert body["user"]["role"] == "Salesperson"
    assert body["user"]["email"] == "ana@company.com"
    assert body["refresh_token"].startswith("rt_")
    assert (profile["id"], profile["email"]) == (body["user"]["id"], "ana@company.com")
    assert profile["last_login"] is not None


async def test_the_first_matching_group_decides_the_role(
    web_with_okta: WebServer, okta: FakeOkta
) -> None:
    """A user in both mapped groups gets the role listed first."""
    _, body = await sign_in(web_with_okta, okta, ["Sales", "OneVice Execs"])
    assert body["user"]["role"] == "Leadership"


async def test_a_user_without_a_mapped_group_is_refused(
    web_with_okta: WebServer, okta: FakeOkta
) -> None:
    """Signed in at Okta but in no mapped group: 403, and no tokens."""
    status, body = await sign_in(web_with_okta, okta, ["Everyone"])
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")


async def test_an_unknown_state_is_refused(
    web_with_okta: WebServer, okta: FakeOkta
) -> None:
    """A state OneVice never issued is refused before the code is used."""
    started = await begin(web_with_okta)
    code = okta.approve(started["authorization_url"], groups=["Sales"])
    status, body = await complete(web_with_okta, code, "forged-state")
    assert (status, body["error"]["details"]["invalid_fields"][0]["field"]) == (
        400,
        "state",
    )
    assert not okta.grants[code].used


async def test_a_state_works_once(web_with_okta: WebServer, okta: FakeOkta) -> None:
    """Replaying a finished sign-in (same state) is refused."""
    started = await begin(web_with_okta)
    code = okta.approve(started["authorization_url"], groups=["Sales"])
    first, _ = await complete(web_with_okta, code, started["state"])
    second, _ = await complete(web_with_okta, code, started["state"])
    assert (first, second) == (200, 400)


async def test_a_bad_code_is_refused(web_with_okta: WebServer, okta: FakeOkta) -> None:
    """A code Okta does not know ends in 401."""
    started = await begin(web_with_okta)
    status, _ = await complete(web_with_okta, "made-up-code", started["state"])
    assert status == 401


@pytest.mark.parametrize(
    "changes",
    [{"nonce": "replayed-nonce"}, {"aud": "another-client"}, {"iss": "https://evil"}],
    ids=["nonce", "aud", "iss"],
)
async def test_an_id_token_with_a_wrong_claim_is_refused(
    web_with_okta: WebServer, okta: FakeOkta, changes: dict[str, str]
) -> None:
    """An ID token with another nonce, audience or issuer ends in 401."""
    okta.id_token_changes = changes
    status, body = await sign_in(web_with_okta, okta, ["Sales"])
    assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED")


async def test_an_id_token_signed_by_another_key_is_refused(
    web_with_okta: WebServer, okta: FakeOkta, okta_keys: tuple[Any, Any]
) -> None:
    """An ID token whose signature does not match Okta's keys ends in 401."""
    okta.signing_key = okta_keys[1]
    status, _ = await sign_in(web_with_okta, okta, ["Sales"])
    assert status == 401


async def test_okta_not_configured_is_503(web: WebServer) -> None:
    """Without Okta settings the endpoint says so."""
    async with web.session.get("/auth/sso/okta") as response:
        body = await response.json()
    assert (response.status, body["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
