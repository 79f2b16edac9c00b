"""``GET /openapi.json``: the REST contract, kept as YAML in the package."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import orjson
import yaml
from aiohttp import web

routes = web.RouteTableDef()


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI document shipped with the package (``web/openapi.yaml``)."""
    text = resources.files("web").joinpath("openapi.yaml").read_text("utf-8")
    loaded: dict[str, Any] = yaml.load(text, Loader=yaml.CSafeLoader)
    return loaded


@functools.cache
def _document_json() -> bytes:
    return orjson.dumps(document())


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this API, as JSON."""
    return web.Response(body=_document_json(), content_type="application/json")
