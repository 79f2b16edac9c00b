"""REST and SSE for queries: submit, poll, cancel, stream."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final

import orjson
import structlog
from aiohttp import web

from onevice.agents.runner import final_event_of
from onevice.base.errors import (
    Conflict,
    OneViceError,
    QueryFailed,
    RateLimited,
    UnsupportedMediaType,
    ValidationError,
)
from onevice.services.bus import EventId, StreamEvent
from onevice.storage.queries import QueryRecord
from web.auth import viewer_of
from web.draining import unless_draining
from web.keys import (
    BUS,
    METRICS,
    QUERIES,
    REGISTRY,
    RELAY,
    SETTINGS,
    SOCKETS,
    STORE,
)
from web.messages import reject_nul, render_event, sse_frame
from web.middlewares import request_id_of
from web.relay import FeedOverflow, QueryFeed

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()

MAX_IDEMPOTENCY_KEY: Final = 200
SSE_KEEPALIVE_SECONDS: Final = 15.0


def json_response(body: Any, *, status: int = 200) -> web.Response:
    return web.json_response(
        body, status=status, dumps=lambda v: orjson.dumps(v).decode()
    )


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; clear errors for anything else.

    The Content-Type is not insisted on (``curl -d`` sends a form type), but a
    multipart upload is refused outright rather than parsed.
    """
    if request.content_type.startswith("multipart/"):
        raise UnsupportedMediaType(
            "Send the request body as application/json",
            details={"provided": request.content_type},
        )
    raw = await request.read()
    if not raw.strip():
        raise ValidationError.field("body", "Request body is empty", provided="")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValidationError.field(
            "body", f"Body is not valid JSON: {exc.msg}", provided=None
        ) from None
    reject_nul(body)
    return body


def idempotency_key_of(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise ValidationError.field(
            "Idempotency-Key",
            f"Must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters",
            provided=key[:MAX_IDEMPOTENCY_KEY],
        )
    return key


def status_body(record: QueryRecord) -> dict[str, Any]:
    """What polling returns: the 200 body once completed, the state before."""
    if record.status == "completed" and record.result is not None:
        return {**record.result, "status": "completed"}
    body: dict[str, Any] = {
        "query_id": record.id,
        "agent": record.agent,
        "status": record.status,
        "created_at": record.created_at.isoformat(),
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "attempts": record.attempts,
        "links": {
            "self": f"/queries/{record.id}",
            "events": f"/queries/{record.id}/events",
        },
    }
    if record.error is not None:
        body["error"] = record.error
    return body


def accepted(record: QueryRecord) -> web.Response:
    response = json_response(status_body(record), status=202)
    response.headers["Location"] = f"/queries/{record.id}"
    return response


def outcome_response(record: QueryRecord) -> web.Response:
    """The answer to a waiting POST once its query is final."""
    if record.status == "completed":
        return json_response(status_body(record))
    error = record.error or {}
    if record.status == "cancelled":
        raise Conflict(
            "The query was cancelled",
            details={"query_id": record.id, "status": "cancelled"},
        )
    raise QueryFailed(
        str(error.get("message", "The query failed")),
        details={
            "query_id": record.id,
            "cause": error.get("code"),
            **(error.get("details") or {}),
        },
    )


@routes.post("/agents/{agent}/query")
async def submit_query(request: web.Request) -> web.Response:
    """Submit a query; wait for the answer unless ``Prefer: respond-async``."""
    viewer = viewer_of(request)
    agent = request.app[REGISTRY].resolve_slug(request.match_info["agent"])
    body = await read_json(request)
    metrics = request.app[METRICS]
    try:
        record, created = await request.app[QUERIES].submit(
            viewer, agent, body, idempotency_key=idempotency_key_of(request)
        )
    except RateLimited:
        metrics.refused("concurrent_queries", viewer.role)
        raise
    if created:
        metrics.accepted(record.id, agent)
    if "respond-async" in request.headers.get("Prefer", "").lower():
        response = accepted(record)
        response.headers["Preference-Applied"] = "respond-async"
        return response
    if record.is_final:
        return outcome_response(record)
    store = request.app[STORE]
    feed = QueryFeed(
        request.app[RELAY], request.app[BUS], record.id, after=None, max_pending=10_000
    )

    async def until_final() -> None:
        async for event in feed.events():
            metrics.reached(record.id, event)

    async with feed:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(request.app[SETTINGS].query_wait_seconds):
                await unless_draining(request.app, until_final())
    record = await store.get(viewer, record.id)
    if not record.is_final:
        return accepted(record)
    return outcome_response(record)


@routes.get("/queries/{query_id}")
async def get_query(request: web.Request) -> web.Response:
    """Poll a query."""
    viewer = viewer_of(request)
    record = await request.app[STORE].get(viewer, request.match_info["query_id"])
    return json_response(status_body(record))


@routes.post("/queries/{query_id}/cancel")
async def cancel_query(request: web.Request) -> web.Response:
    """Cancel a query: at once if queued, at the agent's next step if running."""
    viewer = viewer_of(request)
    record = await request.app[QUERIES].cancel(viewer, request.match_info["query_id"])
    status = "cancelled" if record.status == "cancelled" else "cancelling"
    return json_response(
        {"query_id": record.id, "status": status},
        status=200 if record.is_final else 202,
    )


def resume_position(request: web.Request) -> EventId | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after")
    if raw is None or raw == "":
        return None
    try:
        return EventId.parse(raw.strip())
    except ValueError:
        raise ValidationError.field(
            "Last-Event-ID", "Must be an event id such as 7 or 7-1", provided=raw
        ) from None


@routes.get("/queries/{query_id}/events")
async def query_events(request: web.Request) -> web.StreamResponse:
    """The query's events as Server-Sent Events; ``Last-Event-ID`` resumes."""
    viewer = viewer_of(request)
    record = await request.app[STORE].get(viewer, request.match_info["query_id"])
    after = resume_position(request)
    request_id = request_id_of(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            "X-Request-ID": request_id,
        }
    )
    await response.prepare(request)
    hub = request.app[SOCKETS]
    hub.streams += 1
    try:
        await _stream_events(request, response, record, after, request_id)
    except (ConnectionResetError, FeedOverflow) as exc:
        log.info("sse_ended", query_id=record.id, reason=type(exc).__name__)
    except OneViceError as exc:
        log.warning("sse_failed", query_id=record.id, code=exc.code)
    finally:
        hub.streams -= 1
    return response


async def _stream_events(
    request: web.Request,
    response: web.StreamResponse,
    record: QueryRecord,
    after: EventId | None,
    request_id: str,
) -> None:
    bus = request.app[BUS]
    if record.is_final and not await bus.has_final(record.id):
        # The replay buffer expired: only the outcome is left to tell.
        kind, data = final_event_of(record)
        event = StreamEvent(EventId(record.total_chunks or 0, 1), kind, data)
        message = render_event(event, record.id, request_id, None)
        await response.write(sse_frame(event, message))
        return
    await response.write(b"retry: 1000\n\n")
    feed = QueryFeed(
        request.app[RELAY],
        bus,
        record.id,
        after=after,
        max_pending=request.app[SETTINGS].ws_send_queue,
    )
    metrics = request.app[METRICS]

    async def relay() -> None:
        async with feed:
            async for event in feed.events():
                message = render_event(event, record.id, request_id, None)
                await response.write(sse_frame(event, message))
                metrics.delivered(record.id, event, "sse")

    keepalive = asyncio.create_task(_keep_alive(response))
    try:
        # When the process drains, the stream just ends: the client's
        # EventSource reconnects (to another process) with Last-Event-ID.
        await unless_draining(request.app, relay())
    finally:
        keepalive.cancel()


async def _keep_alive(response: web.StreamResponse) -> None:
    """A comment line now and then, so proxies keep an idle stream open."""
    while True:
        await asyncio.sleep(SSE_KEEPALIVE_SECONDS)
        await response.write(b": keep-alive\n\n")
