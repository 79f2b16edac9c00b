"""GET and PUT /users/profile (spec §2.2)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import pytest

from onevice.identity.tokens import TokenIssuer
from tests.fix_stack import MakeUser, User, WebServer
from tests.test_tokens import claims_of, signed


async def profile(web: WebServer, user: User) -> dict[str, Any]:
    async with web.session.get("/users/profile", headers=user.headers) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
    return body


async def put(web: WebServer, user: User, body: Any) -> tuple[int, dict[str, Any]]:
    async with web.session.put(
        "/users/profile", json=body, headers=user.headers
    ) as response:
        return response.status, await response.json()


async def test_profile_has_the_spec_shape(web: WebServer, make_user: MakeUser) -> None:
    """A first GET shows the token's identity and the default preferences."""
    director = make_user("Director")
    body = await profile(web, director)
    assert body["id"] == director.sub
    assert (body["role"], body["data_sensitivity_level"]) == ("Director", 2)
    assert "write:projects" in body["permissions"]
    assert body["preferences"] == {
        "theme": "system",
        "notifications": True,
        "default_agent": "sales_intelligence",
    }
    assert dt.datetime.fromisoformat(body["created_at"])


async def test_preferences_are_updated_and_merged(web: WebServer, user: User) -> None:
    """A PUT changes the named preferences and keeps the others."""
    status, body = await put(web, user, {"preferences": {"theme": "dark"}})
    await put(web, user, {"preferences": {"default_agent": "case_study"}})
    preferences = (await profile(web, user))["preferences"]
    assert (status, body) == (
        200,
        {"message": "Profile updated successfully", "updated_fields": ["preferences"]},
    )
    assert preferences == {
        "theme": "dark",
        "notifications": True,
        "default_agent": "case_study",
    }


@pytest.mark.parametrize(
    ("body", "field", "options"),
    [
        ({"role": "Leadership"}, "role", ["preferences"]),
        ({"preferences": {"theme": "neon"}}, "preferences.theme", None),
        ({"preferences": {"notifications": "yes"}}, "preferences.notifications", None),
        (
            {"preferences": {"default_agent": "oracle"}},
            "preferences.default_agent",
            None,
        ),
        ({"preferences": {"font": "big"}}, "preferences.font", None),
        ({"preferences": {}}, "preferences", None),
        ([], "body", None),
    ],
)
async def test_bad_updates_are_refused_and_change_nothing(
    web: WebServer, user: User, body: Any, field: str, options: list[str] | None
) -> None:
    """Unknown fields and bad preferences get 400 invalid_fields; nothing changes."""
    before = await profile(web, user)
    status, error = await put(web, user, body)
    invalid = error["error"]["details"]["invalid_fields"]
    assert (status, error["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert field in [entry["field"] for entry in invalid]
    if options is not None:
        assert invalid[0]["valid_options"] == options
    assert await profile(web, user) == before


async def test_default_agent_must_be_a_known_agent(web: WebServer, user: User) -> None:
    """An unknown default_agent is refused with the agents as valid options."""
    _, error = await put(web, user, {"preferences": {"default_agent": "oracle"}})
    options = error["error"]["details"]["invalid_fields"][0]["valid_options"]
    assert "bidding_support" in options


async def test_last_login_follows_the_newest_token(
    web: WebServer, issuer: TokenIssuer
) -> None:
    """last_login is the newest token's issue time; an older token does not undo it."""
    sub = f"user_{uuid.uuid4().hex[:10]}"
    now = int(time.time())
    older = User(
        sub, "Salesperson", signed(issuer, claims_of(issuer, sub=sub, iat=now))
    )
    # Issued 20 s "later": within the verifier's clock leeway, so still accepted.
    newer_token = signed(issuer, claims_of(issuer, sub=sub, iat=now + 20))
    newer = User(sub, "Salesperson", newer_token)
    seen = [(await profile(web, u))["last_login"] for u in (older, newer, older)]
    times = [int(dt.datetime.fromisoformat(value).timestamp()) for value in seen]
    assert times == [now, now + 20, now + 20]


async def test_profiles_are_per_user(web: WebServer, make_user: MakeUser) -> None:
    """One user's preferences do not show in another's profile."""
    alice, bob = make_user(), make_user()
    await put(web, alice, {"preferences": {"theme": "light"}})
    assert (await profile(web, bob))["preferences"]["theme"] == "system"
