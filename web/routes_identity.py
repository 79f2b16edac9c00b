"""Identity endpoints: the issuer's public keys."""

from __future__ import annotations

from aiohttp import web

from web.keys import VERIFIER

routes = web.RouteTableDef()


@routes.get("/.well-known/jwks.json")
async def jwks(request: web.Request) -> web.Response:
    """The public keys that verify OneVice's access tokens (RFC 7517)."""
    keyring = request.app[VERIFIER].keyring.current()
    response = web.json_response(keyring.public_jwks())
    # Short, so that a rotated key is picked up by relying parties quickly.
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
