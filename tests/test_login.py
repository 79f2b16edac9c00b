"""POST /auth/login: Clerk's sign-in URL, never an open redirect."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from onevice.base.settings import Settings
from tests.fix_stack import StartWeb, WebServer

SIGN_IN = "https://accounts.onevice.test/sign-in"


@pytest.fixture
async def web_with_clerk(start_web: StartWeb, settings: Settings) -> WebServer:
    return await start_web(
        dataclasses.replace(
            settings,
            clerk_sign_in_url=SIGN_IN,
            redirect_allowlist=("https://app.onevice.com", "http://localhost:3000"),
        )
    )


async def login(web: WebServer, body: Any) -> tuple[int, dict[str, Any]]:
    async with web.session.post("/auth/login", json=body) as response:
        return response.status, await response.json()


async def test_login_answers_with_the_clerk_sign_in_url(
    web_with_clerk: WebServer,
) -> None:
    """The URL is Clerk's page, carrying the email and the allowed return address."""
    status, body = await login(
        web_with_clerk,
        {
            "email": "ana@company.com",
            "redirect_url": "https://app.onevice.com/dashboard",
        },
    )
    url = urlsplit(body["auth_url"])
    query = parse_qs(url.query)
    assert status == 200
    assert f"{url.scheme}://{url.netloc}{url.path}" == SIGN_IN
    assert query == {
        "redirect_url": ["https://app.onevice.com/dashboard"],
        "login_hint": ["ana@company.com"],
    }
    assert body["session_id"].startswith("sess_") and body["expires_in"] == 3600


@pytest.mark.parametrize(
    "redirect_url",
    [
        "https://evil.example/dashboard",
        "https://app.onevice.com.evil.example/",
        "https://app.onevice.com@evil.example/",
        "http://app.onevice.com/dashboard",
        "javascript:alert(1)",
        "//evil.example",
    ],
)
async def test_return_addresses_outside_the_allow_list_are_refused(
    web_with_clerk: WebServer, redirect_url: str
) -> None:
    """Any return address that is not an allowed origin is a 400, never a link."""
    status, body = await login(
        web_with_clerk, {"email": "ana@company.com", "redirect_url": redirect_url}
    )
    fields = [f["field"] for f in body["error"]["details"]["invalid_fields"]]
    assert (status, fields) == (400, ["redirect_url"])


async def test_a_bad_email_is_refused(web_with_clerk: WebServer) -> None:
    """An email that is not one gets 400 naming the field."""
    status, body = await login(
        web_with_clerk,
        {"email": "not-an-email", "redirect_url": "https://app.onevice.com/"},
    )
    assert (status, body["error"]["details"]["invalid_fields"][0]["field"]) == (
        400,
        "email",
    )


async def test_login_without_clerk_configured_is_503(web: WebServer) -> None:
    """Without CLERK_SIGN_IN_URL the endpoint says so instead of inventing a URL."""
    status, body = await login(
        web, {"email": "ana@company.com", "redirect_url": "https://app.onevice.com/"}
    )
    assert (status, body["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
