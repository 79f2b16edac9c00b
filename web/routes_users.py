"""``/users/profile`` (spec §2.2)."""

from __future__ import annotations

from aiohttp import web

from onevice.agents.registry import PRODUCT_AGENTS
from onevice.identity.profiles import preferences_update, profile_body
from web.auth import viewer_of
from web.keys import USERS
from web.routes_queries import json_response, read_json

routes = web.RouteTableDef()


@routes.get("/users/profile")
async def get_profile(request: web.Request) -> web.Response:
    """The caller's profile, with role and permissions from their token."""
    user = await request.app[USERS].seen(viewer_of(request))
    return json_response(profile_body(user))


@routes.put("/users/profile")
async def put_profile(request: web.Request) -> web.Response:
    """Change the caller's preferences; anything else is refused."""
    preferences = preferences_update(await read_json(request), PRODUCT_AGENTS)
    await request.app[USERS].set_preferences(viewer_of(request), preferences)
    return json_response(
        {"message": "Profile updated successfully", "updated_fields": ["preferences"]}
    )
