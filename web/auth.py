"""Who is calling, and whether they may call now: authentication and rate limits.

Two middlewares, in this order: ``authenticate`` verifies the bearer token of
every route but the public ones and keeps the viewer on the request;
``rate_limit`` charges that viewer's buckets (see ``onevice.services.ratelimit``)
and adds the ``RateLimit-*`` headers.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from onevice.base.errors import AuthenticationError, OneViceError
from onevice.services.access import Viewer
from web.keys import LIMITER, LIMITS, METRICS, VERIFIER
from web.middlewares import Handler

VIEWER = web.RequestKey("viewer", Viewer)

#: Routes anyone may call.
PUBLIC_ROUTES: Final = frozenset(
    {
        "/health",
        "/metrics",
        "/.well-known/jwks.json",
        "/auth/login",
        "/auth/refresh",
        "/auth/sso/okta",
        "/openapi.json",
    }
)
#: Browsers cannot set headers on WebSocket and EventSource requests, so these
#: also take the token as ``?token=`` (never logged).
QUERY_TOKEN_ROUTES: Final = frozenset({"/ws", "/queries/{query_id}/events"})


def route_of(request: web.Request) -> str | None:
    """The canonical pattern of the matched route; None if nothing matched."""
    if request.match_info.http_exception is not None:
        return None
    return (
        request.match_info.route.resource.canonical
        if request.match_info.route.resource
        else None
    )


def token_of(request: web.Request, *, allow_query: bool) -> str:
    """The bearer token from ``Authorization``, or ``?token=`` where allowed."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if allow_query and request.query.get("token"):
        return request.query["token"]
    raise AuthenticationError(
        "Missing bearer token",
        details={"hint": "send Authorization: Bearer <token>"},
    )


def viewer_of(request: web.Request) -> Viewer:
    """The authenticated viewer of ``request`` (set by ``authenticate``)."""
    return request[VIEWER]


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Verify the caller's token on every route that is not public."""
    route = route_of(request)
    if route is not None and route not in PUBLIC_ROUTES:
        token = token_of(request, allow_query=route in QUERY_TOKEN_ROUTES)
        request[VIEWER] = await request.app[VERIFIER].verify(token)
    return await handler(request)


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Charge the viewer's buckets; 429 with Retry-After when one is empty."""
    viewer = request.get(VIEWER)
    if viewer is None:
        return await handler(request)
    buckets = request.app[LIMITS].for_request(viewer, route_of(request))
    decision = await request.app[LIMITER].check(buckets)
    if not decision.allowed:
        request.app[METRICS].refused("requests", viewer.role)
        raise decision.refusal("requests")
    try:
        response = await handler(request)
    except OneViceError as exc:
        exc.headers = {**decision.headers(), **exc.headers}  # errors say it too
        raise
    if not response.prepared:
        response.headers.update(decision.headers())
    return response
