"""Request ids, the error boundary, and the request log line."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable

import orjson
import structlog
from aiohttp import web

from onevice.base.errors import (
    DependencyUnavailable,
    MethodNotAllowed,
    NotFound,
    OneViceError,
    PayloadTooLarge,
)
from onevice.services.transient import TRANSIENT_ERRORS
from web.keys import SETTINGS
from web.messages import error_body

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID = web.RequestKey("request_id", str)


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex[:20]}"


def request_id_of(request: web.Request) -> str:
    return str(request.get(REQUEST_ID, "req_unknown"))


def error_response(exc: OneViceError, request_id: str) -> web.Response:
    response = web.json_response(
        error_body(exc.code, exc.message, exc.details, request_id),
        status=exc.status,
        dumps=_dumps,
    )
    response.headers.update(exc.headers)
    return response


def _dumps(value: object) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # Details may echo request text that is not valid Unicode (a header's
        # undecodable bytes arrive as lone surrogates); the standard library
        # writes those as \u escapes where orjson refuses them.
        return json.dumps(value)


def _translate_http(request: web.Request, exc: web.HTTPException) -> OneViceError:
    if isinstance(exc, web.HTTPNotFound):
        return NotFound("No such endpoint")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return MethodNotAllowed(
            f"{exc.method} is not allowed here",
            details={"allowed_methods": sorted(exc.allowed_methods)},
        )
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return PayloadTooLarge(
            "Request body is too large",
            details={"max_bytes": request.app[SETTINGS].max_body_bytes},
        )
    error = OneViceError(exc.reason)
    error.status = exc.status
    error.code = exc.reason.upper().replace(" ", "_")
    return error


@web.middleware
async def error_boundary(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id, turn every failure into a spec §5 body, log once."""
    request_id = new_request_id()
    request[REQUEST_ID] = request_id
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
    except OneViceError as exc:
        status = exc.status
        response = error_response(exc, request_id)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        translated = _translate_http(request, exc)
        status = translated.status
        response = error_response(translated, request_id)
    except TRANSIENT_ERRORS as exc:
        log.warning("dependency_unavailable", error=type(exc).__name__, detail=str(exc))
        status = 503
        response = error_response(
            DependencyUnavailable("A backing service is unavailable; try again"),
            request_id,
        )
    except asyncio.CancelledError:
        status = 499  # the client went away and aiohttp cancelled the handler
        raise
    except Exception:
        log.exception("request_crashed", method=request.method, path=request.path)
        response = error_response(OneViceError("Internal server error"), request_id)
    finally:
        log.info(
            "request_finished",
            method=request.method,
            path=request.path,  # never the query string: it may carry a token
            status=status,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        structlog.contextvars.unbind_contextvars("request_id")
    if not response.prepared:
        response.headers["X-Request-ID"] = request_id
    return response
