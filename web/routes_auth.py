"""``/auth/*`` (spec §2.1): sign-in flows and refreshing a session."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from onevice.base.errors import ServiceUnavailable, ValidationError
from onevice.identity.okta import OktaSSO
from onevice.identity.signin import sign_in_link
from web.keys import OKTA, SESSIONS, SETTINGS, USERS
from web.routes_queries import json_response, read_json

routes = web.RouteTableDef()


@routes.post("/auth/login")
async def login(request: web.Request) -> web.Response:
    """Where to sign in with Clerk, for an email and an allowed return address."""
    body = await read_json(request)
    return json_response(sign_in_link(request.app[SETTINGS], body))


def okta_of(request: web.Request) -> OktaSSO:
    okta = request.app.get(OKTA)
    if okta is None:
        raise ServiceUnavailable(
            "Sign-in with Okta is not configured on this server",
            details={"setting": "OKTA_ISSUER"},
        )
    return okta


@routes.get("/auth/sso/okta")
async def okta_begin(request: web.Request) -> web.Response:
    """Where to send the user to sign in with Okta, and the state to bring back."""
    return json_response(await okta_of(request).begin())


@routes.post("/auth/sso/okta")
async def okta_complete(request: web.Request) -> web.Response:
    """Finish an Okta sign-in: OneVice tokens and the user (spec §2.1)."""
    body = await read_json(request)
    code, state = _strings(body, "code", "state")
    signed_in = await okta_of(request).complete(code, state)
    user = await request.app[USERS].seen(signed_in.viewer, email=signed_in.email)
    tokens = await request.app[SESSIONS].start(signed_in.viewer)
    return json_response(
        {
            **tokens,
            "user": {
                "id": user.id,
                "email": user.email,
                "role": user.role,
                "permissions": user.permissions,
            },
        }
    )


def _strings(body: Any, *names: str) -> tuple[str, ...]:
    """The named string fields of a JSON object body, or a ValidationError."""
    if not isinstance(body, dict):
        raise ValidationError.field("body", "Must be a JSON object", provided=None)
    problems = [
        {"field": name, "error": "Must be a non-empty string", "provided": None}
        for name in names
        if not isinstance(body.get(name), str) or not 0 < len(body[name]) <= 2048
    ]
    problems += [
        {"field": name, "error": "Unknown field", "provided": None}
        for name in sorted(set(body) - set(names))
    ]
    if problems:
        raise ValidationError(problems)
    return tuple(body[name] for name in names)


@routes.post("/auth/refresh")
async def refresh(request: web.Request) -> web.Response:
    """A new access token for a refresh token, which is spent and replaced."""
    (token,) = _strings(await read_json(request), "refresh_token")
    return json_response(await request.app[SESSIONS].refresh(token))
