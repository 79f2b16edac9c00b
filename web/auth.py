"""Who is calling: the bearer token of a request, verified into a viewer."""

from __future__ import annotations

from aiohttp import web

from onevice.base.errors import AuthenticationError
from onevice.services.access import Viewer
from web.keys import VERIFIER


def token_of(request: web.Request, *, allow_query: bool) -> str:
    """The bearer token from ``Authorization``, or ``?token=`` where allowed.

    Browsers cannot set headers on WebSocket and EventSource requests, so those
    two endpoints also take the token in the query string (never logged).
    """
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


def viewer_of(request: web.Request, *, allow_query: bool = False) -> Viewer:
    """The authenticated viewer of ``request``; AuthenticationError otherwise."""
    return request.app[VERIFIER].verify(token_of(request, allow_query=allow_query))
