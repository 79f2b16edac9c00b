"""``/auth/*`` (spec §2.1): sign-in flows and refreshing a session."""

from __future__ import annotations

from aiohttp import web

from onevice.base.errors import ValidationError
from onevice.identity.signin import sign_in_link
from web.keys import SESSIONS, SETTINGS
from web.routes_queries import json_response, read_json

routes = web.RouteTableDef()

MAX_REFRESH_TOKEN_CHARS = 200


@routes.post("/auth/login")
async def login(request: web.Request) -> web.Response:
    """Where to sign in with Clerk, for an email and an allowed return address."""
    body = await read_json(request)
    return json_response(sign_in_link(request.app[SETTINGS], body))


@routes.post("/auth/refresh")
async def refresh(request: web.Request) -> web.Response:
    """A new access token for a refresh token, which is spent and replaced."""
    body = await read_json(request)
    token = body.get("refresh_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not 0 < len(token) <= MAX_REFRESH_TOKEN_CHARS:
        raise ValidationError.field(
            "refresh_token", "Must be the refresh token of a session", provided=None
        )
    if isinstance(body, dict) and set(body) - {"refresh_token"}:
        raise ValidationError.field(
            sorted(set(body) - {"refresh_token"})[0], "Unknown field", provided=None
        )
    return json_response(await request.app[SESSIONS].refresh(token))
