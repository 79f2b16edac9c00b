"""The WebSocket endpoint (spec §3): queries, streamed answers, resume, cancel.

Each socket has one sender task draining a bounded queue, and one task per query
it follows. A socket whose queue fills up (the client reads too slowly) is told
so and closed; the client can reconnect and resume where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any, Final, NamedTuple

import orjson
import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from onevice.agents.registry import AgentRegistry
from onevice.base.errors import (
    AuthenticationError,
    DependencyUnavailable,
    OneViceError,
    PayloadTooLarge,
    RateLimited,
    ValidationError,
)
from onevice.services.access import Viewer
from onevice.services.bus import EventId, StreamEvent
from onevice.services.ratelimit import ROLE_LIMITS, SocketSlots
from onevice.services.transient import TRANSIENT_ERRORS
from web.auth import viewer_of
from web.keys import (
    BUS,
    LIMITER,
    LIMITS,
    METRICS,
    QUERIES,
    REGISTRY,
    RELAY,
    SETTINGS,
    SOCKET_SLOTS,
    SOCKETS,
    STORE,
)
from web.load import LOAD
from web.messages import (
    WS_CLIENT_TYPES,
    now_iso,
    reject_nul,
    render_event,
    ws_error,
    ws_message,
)
from web.middlewares import request_id_of
from web.relay import FeedOverflow, QueryFeed

log = structlog.get_logger(__name__)

#: Frames above this are refused by aiohttp itself (close code 1009); frames
#: between the configured limit and this get an error message and are ignored.
_HARD_FRAME_FACTOR: Final = 4
_CLOSE_TIMEOUT: Final = 5.0
_SLOW_WRITE_TIMEOUT: Final = 1.0


class _Outgoing(NamedTuple):
    """A message for the client, and the query event it renders, if any."""

    message: dict[str, Any]
    query_id: str | None = None
    event: StreamEvent | None = None


class SocketHub:
    """The open sockets and event streams of this process."""

    def __init__(self) -> None:
        self.sockets: set[Socket] = set()
        self.streams = 0

    @property
    def active(self) -> int:
        return len(self.sockets) + self.streams

    def broadcast(self, message: dict[str, Any]) -> None:
        """Queue ``message`` on every open socket."""
        for socket in list(self.sockets):
            socket.send(message)

    async def close_all(self, message: str) -> None:
        """Tell every socket the server is going away, then close them."""
        await asyncio.gather(
            *(socket.going_away(message) for socket in list(self.sockets)),
            return_exceptions=True,
        )


class Socket:
    """One client connection."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, viewer: Viewer):
        self.request = request
        self.app = request.app
        self.ws = ws
        self.viewer = viewer
        self.request_id = request_id_of(request)
        self.session_id = f"sess_{uuid.uuid4().hex[:16]}"
        settings = self.app[SETTINGS]
        self.frame_limit = settings.max_ws_frame_bytes
        self.outbox: asyncio.Queue[_Outgoing | None] = asyncio.Queue(
            maxsize=settings.ws_send_queue
        )
        self.metrics = self.app[METRICS]
        self.follows: dict[str, asyncio.Task[None]] = {}
        self.sender: asyncio.Task[None] | None = None
        self.dropped = False
        self.dropping: asyncio.Task[None] | None = None

    # -- outgoing ----------------------------------------------------------

    def send(
        self,
        message: dict[str, Any],
        *,
        query_id: str | None = None,
        event: StreamEvent | None = None,
    ) -> None:
        """Queue a message; drop the client if it has fallen too far behind.

        ``event`` is the query event the message renders, timed once sent.
        """
        if self.dropped:
            return
        try:
            self.outbox.put_nowait(_Outgoing(message, query_id, event))
        except asyncio.QueueFull:
            self.drop_slow()

    async def _send_loop(self) -> None:
        while True:
            outgoing = await self.outbox.get()
            if outgoing is None:
                return
            # orjson's UTF-8 bytes go out as the text frame as they are.
            await self.ws.send_frame(orjson.dumps(outgoing.message), WSMsgType.TEXT)
            if outgoing.event is not None and outgoing.query_id is not None:
                self.metrics.delivered(outgoing.query_id, outgoing.event, "ws")

    def drop_slow(self) -> None:
        """Start dropping this client (once) for reading too slowly."""
        if self.dropping is None:
            self.dropped = True
            log.warning("socket_too_slow", session_id=self.session_id)
            self.dropping = asyncio.create_task(self._drop_slow())

    async def _drop_slow(self) -> None:
        """Tell a client that fell behind, close, and let go of it.

        Its connection is backed up, so neither the error nor the close frame
        can be waited for: each is queued behind what the client has not read
        (a bounded wait), then the transport is closed, which delivers them if
        the client ever catches up and frees the socket either way.
        """
        if self.sender is not None:
            self.sender.cancel()
        error = ws_error(
            "CLIENT_TOO_SLOW",
            "Messages were not read fast enough; reconnect and resume",
            {"resume": "send resume with your last chunk_index"},
            self.request_id,
        )
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_SLOW_WRITE_TIMEOUT):
                await self.ws.send_frame(orjson.dumps(error), WSMsgType.TEXT)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_SLOW_WRITE_TIMEOUT):
                await self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"slow")
        transport = self.request.transport
        if transport is not None:
            transport.close()

    async def going_away(self, message: str) -> None:
        self.send(
            ws_message(
                "connection_status",
                {
                    "status": "reconnect",
                    "message": message,
                    "session_id": self.session_id,
                },
            )
        )
        with contextlib.suppress(asyncio.QueueFull):
            self.outbox.put_nowait(None)
        if self.sender is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_CLOSE_TIMEOUT):
                    await asyncio.shield(self.sender)
        await self.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restarting")

    # -- incoming ----------------------------------------------------------

    async def serve(self) -> None:
        self.sender = asyncio.create_task(self._send_loop())
        self.send(self.handshake())
        load = self.app[LOAD]
        if load.status != "healthy":
            self.send(load.message())
        try:
            async for frame in self.ws:
                if frame.type == WSMsgType.TEXT:
                    await self.on_text(frame.data)
                elif frame.type == WSMsgType.BINARY:
                    self.send_error(
                        ValidationError.field(
                            "frame",
                            "Send messages as JSON text frames",
                            provided="binary",
                        )
                    )
                elif frame.type == WSMsgType.ERROR:
                    log.info("socket_error", error=str(self.ws.exception()))
        finally:
            for task in self.follows.values():
                task.cancel()
            if self.sender is not None and not self.sender.done():
                self.sender.cancel()

    async def on_text(self, text: str) -> None:
        message_id: str | None = None
        try:
            if len(text.encode()) > self.frame_limit:
                raise PayloadTooLarge(
                    "Message is too large",
                    details={
                        "max_bytes": self.frame_limit,
                        "provided_bytes": len(text),
                    },
                )
            message = _parse(text)
            message_id = _message_id(message)
            if message.get("type") != "ping":  # heartbeats stay free and fast
                await self.count_message()
            await self.dispatch(message, message_id)
        except OneViceError as exc:
            self.send_error(exc, message_id=message_id)
        except TRANSIENT_ERRORS as exc:
            log.warning("socket_dependency_down", error=type(exc).__name__)
            self.send_error(
                DependencyUnavailable("A backing service is unavailable; try again"),
                message_id=message_id,
            )
        except Exception:
            # A bug handling one message must not end the client's socket: it
            # gets the error a REST request would, and the socket stays open.
            log.exception("socket_message_crashed", session_id=self.session_id)
            self.send_error(
                OneViceError("Internal server error"), message_id=message_id
            )

    async def count_message(self) -> None:
        """Apply the role's messages-per-minute limit, shared by all processes."""
        buckets = self.app[LIMITS].for_ws_message(self.viewer)
        decision = await self.app[LIMITER].check(buckets)
        if not decision.allowed:
            self.metrics.refused("messages", self.viewer.role)
            raise decision.refusal("messages")

    async def dispatch(self, message: dict[str, Any], message_id: str | None) -> None:
        kind = message.get("type")
        data = message.get("data") or {}
        if not isinstance(data, dict):
            raise ValidationError.field("data", "Must be an object", provided=data)
        if kind == "ping":
            self.send(
                {
                    "type": "pong",
                    "timestamp": now_iso(),
                    "server_status": self.app[LOAD].status,
                }
                | ({"message_id": message_id} if message_id else {})
            )
        elif kind == "connection":
            self.send(self.handshake(message_id))
        elif kind == "agent_query":
            await self.on_query(data, message_id)
        elif kind == "resume":
            await self.on_resume(data, message_id)
        elif kind == "cancel":
            await self.on_cancel(data, message_id)
        else:
            raise ValidationError.field(
                "type",
                "Unknown message type",
                provided=kind,
                valid_options=WS_CLIENT_TYPES,
            )

    async def on_query(self, data: dict[str, Any], message_id: str | None) -> None:
        agent = data.get("agent")
        registry: AgentRegistry = self.app[REGISTRY]
        if not isinstance(agent, str) or agent not in registry.names():
            raise ValidationError.field(
                "agent",
                "Invalid agent type",
                provided=agent,
                valid_options=registry.names(),
            )
        body = {k: v for k, v in data.items() if k != "agent"}
        try:
            record, created = await self.app[QUERIES].submit(
                self.viewer, agent, body, idempotency_key=message_id
            )
        except RateLimited:
            self.metrics.refused("concurrent_queries", self.viewer.role)
            raise
        if created:
            self.metrics.accepted(record.id, agent)
        self.follow(record.id, None, message_id)

    async def on_resume(self, data: dict[str, Any], message_id: str | None) -> None:
        query_id = data.get("query_id")
        after = data.get("after_chunk", 0)
        if not isinstance(query_id, str) or not query_id:
            raise ValidationError.field(
                "query_id", "Must be a query id", provided=query_id
            )
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValidationError.field(
                "after_chunk", "Must be a chunk index (0 or more)", provided=after
            )
        await self.app[STORE].get(self.viewer, query_id)
        self.follow(query_id, EventId(after, 0), message_id)

    async def on_cancel(self, data: dict[str, Any], message_id: str | None) -> None:
        query_id = data.get("query_id")
        if not isinstance(query_id, str) or not query_id:
            raise ValidationError.field(
                "query_id", "Must be a query id", provided=query_id
            )
        record = await self.app[QUERIES].cancel(self.viewer, query_id)
        status = "cancelled" if record.status == "cancelled" else "cancelling"
        self.send(
            ws_message(
                "cancel",
                {"query_id": query_id, "status": status},
                message_id=message_id,
            )
        )

    # -- following a query --------------------------------------------------

    def follow(
        self, query_id: str, after: EventId | None, message_id: str | None
    ) -> None:
        """Stream a query's events to this socket (replacing an earlier follow)."""
        previous = self.follows.pop(query_id, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.create_task(self._follow(query_id, after, message_id))
        self.follows[query_id] = task
        task.add_done_callback(lambda t: self._forget(query_id, t))

    def _forget(self, query_id: str, task: asyncio.Task[None]) -> None:
        if self.follows.get(query_id) is task:
            del self.follows[query_id]

    async def _follow(
        self, query_id: str, after: EventId | None, message_id: str | None
    ) -> None:
        feed = QueryFeed(
            self.app[RELAY],
            self.app[BUS],
            query_id,
            after=after,
            max_pending=self.app[SETTINGS].ws_send_queue,
        )
        try:
            async with feed:
                async for event in feed.events():
                    self.send(
                        render_event(event, query_id, self.request_id, message_id),
                        query_id=query_id,
                        event=event,
                    )
        except FeedOverflow:
            self.drop_slow()
        except OneViceError as exc:
            self.send_error(exc, message_id=message_id)

    # -- helpers --------------------------------------------------------------

    def handshake(self, message_id: str | None = None) -> dict[str, Any]:
        settings = self.app[SETTINGS]
        return ws_message(
            "connection",
            {
                "status": "connected",
                "session_id": self.session_id,
                "user": {"id": self.viewer.sub, "role": self.viewer.role},
                "supported_agents": self.app[REGISTRY].names(),
                "available_agents": self.app[REGISTRY].available(),
                "rate_limits": {
                    "messages_per_minute": self.app[LIMITS].per_minute(self.viewer),
                    "concurrent_websocket": socket_limit(self.viewer),
                    "concurrent_queries": settings.max_concurrent_queries,
                },
                "limits": {"max_frame_bytes": settings.max_ws_frame_bytes},
            },
            message_id=message_id,
        )

    def send_error(self, exc: OneViceError, *, message_id: str | None = None) -> None:
        self.send(
            ws_error(
                exc.code,
                exc.message,
                exc.details,
                self.request_id,
                message_id=message_id,
            )
        )


def _parse(text: str) -> dict[str, Any]:
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValidationError.field(
            "message", f"Not valid JSON: {exc.msg}", provided=text[:200]
        ) from None
    if not isinstance(message, dict):
        raise ValidationError.field(
            "message", "Must be a JSON object", provided=type(message).__name__
        )
    reject_nul(message)
    return message


def _message_id(message: dict[str, Any]) -> str | None:
    value = message.get("message_id")
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 200 or "\x00" in value:
        raise ValidationError.field(
            "message_id",
            "Must be a string of 1 to 200 characters, without NUL",
            provided=value,
        )
    return value


async def websocket(request: web.Request) -> web.StreamResponse:
    """``/ws?token=…``: authenticate, upgrade, then speak spec §3."""
    viewer = viewer_of(request)
    claimed = request.query.get("user_id")
    if claimed is not None and claimed != viewer.sub:
        # Spec §3.1 clients send ?user_id= too; the token decides who this is,
        # and a socket that claims to be someone else is refused.
        raise AuthenticationError("user_id does not match the access token")
    slots = request.app[SOCKET_SLOTS]
    slot = f"sock_{uuid.uuid4().hex}"
    limit = socket_limit(viewer)
    if not await slots.take(viewer, slot, limit):
        request.app[METRICS].refused("concurrent_websocket", viewer.role)
        raise RateLimited(
            f"Too many open WebSocket connections (at most {limit} for your role)",
            retry_after=5,
            details={"limit": limit, "kind": "concurrent_websocket"},
        )
    try:
        return await _serve_socket(request, viewer, slots, slot)
    finally:
        await slots.release(viewer, slot)


def socket_limit(viewer: Viewer) -> int:
    """spec §4.2 ``concurrent_websocket`` of the viewer's role."""
    return ROLE_LIMITS[viewer.role].concurrent_websocket


async def _serve_socket(
    request: web.Request, viewer: Viewer, slots: SocketSlots, slot: str
) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    ws = web.WebSocketResponse(
        max_msg_size=settings.max_ws_frame_bytes * _HARD_FRAME_FACTOR,
        heartbeat=30.0,
    )
    try:
        await ws.prepare(request)
    except ConnectionResetError:
        log.info("socket_gone_during_upgrade")
        return ws
    socket = Socket(request, ws, viewer)
    hub = request.app[SOCKETS]
    hub.sockets.add(socket)
    log.info("socket_opened", session_id=socket.session_id, role=viewer.role)
    renewing = asyncio.create_task(_renew_slot(slots, viewer, slot))
    try:
        await socket.serve()
    finally:
        renewing.cancel()
        hub.sockets.discard(socket)
        log.info("socket_closed", session_id=socket.session_id)
    return ws


async def _renew_slot(slots: SocketSlots, viewer: Viewer, slot: str) -> None:
    """Keep the socket's slot alive while it is open (it lapses if we die)."""
    while True:
        await asyncio.sleep(slots.LEASE_MS / 3000)
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await slots.renew(viewer, slot)
