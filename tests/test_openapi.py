"""The OpenAPI document is valid OpenAPI 3.1 and in step with the routes the app has."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from onevice.base.settings import Settings
from tests.fix_stack import WebServer
from web import openapi
from web.app import create_app
from web.auth import PUBLIC_ROUTES

#: Routes described elsewhere: the WebSocket is in docs/asyncapi.yaml.
NOT_REST: frozenset[str] = frozenset({"/ws"})
METHODS = frozenset({"get", "put", "post", "delete", "patch", "options", "trace"})

Operation = tuple[str, str]


def registered(settings: Settings) -> set[Operation]:
    """Every (METHOD, path template) the application's router serves."""
    app = create_app(settings)
    found = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method == "HEAD":
            continue
        if resource.canonical not in NOT_REST:
            found.add((route.method, resource.canonical))
    return found


def documented(document: dict[str, Any]) -> set[Operation]:
    """Every (METHOD, path template) the document describes."""
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def listing(operations: set[Operation]) -> str:
    return "\n".join(
        f"  {method} {path}"
        for path, method in sorted((path, method) for method, path in operations)
    )


def test_document_is_valid_openapi_3_1() -> None:
    """openapi-spec-validator finds nothing wrong with the document."""
    document = openapi.document()
    errors = [
        error.message for error in OpenAPIV31SpecValidator(document).iter_errors()
    ]
    assert (document["openapi"], errors) == ("3.1.0", [])


def test_every_registered_route_is_documented(settings: Settings) -> None:
    """A route the router serves but web/openapi.yaml lacks fails, by name."""
    missing = registered(settings) - documented(openapi.document())
    if missing:
        pytest.fail(
            "routes missing from web/openapi.yaml; describe them there:\n"
            + listing(missing)
        )


def test_every_documented_operation_is_registered(settings: Settings) -> None:
    """An operation the document describes but no route serves fails, by name."""
    extra = documented(openapi.document()) - registered(settings)
    if extra:
        pytest.fail(
            "operations in web/openapi.yaml that no route serves:\n" + listing(extra)
        )


def test_public_operations_are_the_public_routes() -> None:
    """The operations marked without security are exactly the routes anyone may call."""
    document = openapi.document()
    public = {
        path
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS and operation.get("security") == []
    }
    assert public == set(PUBLIC_ROUTES)


async def test_document_is_served_as_json_without_a_token(web: WebServer) -> None:
    """GET /openapi.json answers anyone with the document, as JSON."""
    async with web.session.get("/openapi.json") as response:
        body = await response.json()
    assert (response.status, response.content_type) == (200, "application/json")
    assert body == openapi.document()
