"""The web process's Prometheus instruments, and the loop that feeds one.

Every app has a registry of its own (several apps share a test process), which
``GET /metrics`` serves (see ``web.scrape`` for the figures read from the
stores at scrape time). Labels come from closed sets only:
agent names, statuses, roles, route templates, transports. Nothing that names a
user, an organisation or what anyone asked is ever a label.

Two latencies are timed here:

- first chunk: from the moment this process accepted a query to the moment it
  first had the query's chunk 1 in hand (sent to a socket or an event stream,
  or seen by a waiting POST). Queries accepted elsewhere are not timed here.
- chunk relay: from the worker publishing a chunk (the ``published_at`` the bus
  stamps, on the worker's clock) to this process writing it to a client. Only
  chunks that arrived over the live subscription count: a chunk replayed to a
  client that came late or resumed says how late the client was, not the relay.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final, Literal

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from onevice.services.bus import StreamEvent
from web.auth import route_of
from web.keys import METRICS
from web.middlewares import Handler
from web.scrape import StoreCollector

if TYPE_CHECKING:
    from web.sockets import SocketHub

Transport = Literal["ws", "sse"]
#: What a refusal refused: REST requests, WebSocket messages, a socket over the
#: role's limit, a query over the user's limit of open queries.
RefusalKind = Literal[
    "requests", "messages", "concurrent_websocket", "concurrent_queries"
]

#: Milliseconds to tens of seconds: a first chunk without a model takes a few
#: milliseconds, one written by a model up to seconds.
FIRST_CHUNK_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
#: A relay is a Redis hop and a socket write: sub-millisecond to a second.
RELAY_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
HTTP_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
)
_UNMATCHED: Final = "unmatched"
#: Queries whose first chunk is still awaited; the oldest are forgotten past
#: this (queries nobody here reads to the end never leave otherwise).
_MAX_AWAITED: Final = 10_000
_LAG_INTERVAL_SECONDS: Final = 0.5
_LAG_WINDOW: Final = 20  # samples: the gauge shows the worst of the last 10 s


class Metrics:
    """The instruments of one web app, on the app's own registry."""

    def __init__(self, registry: CollectorRegistry, hub: SocketHub):
        self.registry = registry
        self.submitted = Counter(
            "onevice_queries_submitted",
            "Queries this web process accepted, by agent",
            ["agent"],
            registry=registry,
        )
        self.first_chunk = Histogram(
            "onevice_first_chunk_seconds",
            "From accepting a query to relaying its first chunk, by agent",
            ["agent"],
            buckets=FIRST_CHUNK_BUCKETS,
            registry=registry,
        )
        self.relay = Histogram(
            "onevice_chunk_relay_seconds",
            "From a worker publishing a chunk to a client being sent it",
            ["transport"],
            buckets=RELAY_BUCKETS,
            registry=registry,
        )
        self.refusals = Counter(
            "onevice_rate_limit_rejections",
            "Requests, messages, sockets and queries refused by a limit",
            ["kind", "role"],
            registry=registry,
        )
        self.requests = Counter(
            "onevice_http_requests",
            "HTTP requests by method, route template and status class",
            ["method", "route", "status_class"],
            registry=registry,
        )
        self.durations = Histogram(
            "onevice_http_request_duration_seconds",
            "Time to answer an HTTP request (a socket's or stream's whole life)",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self.loop_lag = Gauge(
            "onevice_event_loop_lag_seconds",
            "Worst lateness of the event loop waking from a sleep, last 10 s",
            registry=registry,
        )
        #: What the gauge shows, for the load monitor (``web.load``) to read.
        self.loop_lag_seconds = 0.0
        Gauge(
            "onevice_open_sockets", "WebSockets open on this process", registry=registry
        ).set_function(lambda: len(hub.sockets))
        Gauge(
            "onevice_open_event_streams",
            "Server-Sent Event streams open on this process",
            registry=registry,
        ).set_function(lambda: hub.streams)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        self.stores = StoreCollector()
        registry.register(self.stores)
        self._awaited: collections.OrderedDict[str, tuple[str, float]] = (
            collections.OrderedDict()
        )

    def accepted(self, query_id: str, agent: str) -> None:
        """Count a new query and start the clock of its first chunk."""
        self.submitted.labels(agent).inc()
        self._awaited[query_id] = (agent, time.monotonic())
        while len(self._awaited) > _MAX_AWAITED:
            self._awaited.popitem(last=False)

    def reached(self, query_id: str, event: StreamEvent) -> None:
        """This process has ``event`` in hand: time the query's first chunk."""
        first = event.kind == "chunk" and event.chunk_index == 1
        if not first and not event.is_final:
            return
        awaited = self._awaited.pop(query_id, None)
        if awaited is not None and first:
            agent, since = awaited
            self.first_chunk.labels(agent).observe(time.monotonic() - since)

    def delivered(
        self, query_id: str, event: StreamEvent, transport: Transport
    ) -> None:
        """A client was sent ``event``: time its relay, and a first chunk."""
        self.reached(query_id, event)
        published = event.published_at
        if event.kind == "chunk" and event.live and published is not None:
            # Two machines' clocks: a publisher slightly ahead must not give
            # a negative latency.
            self.relay.labels(transport).observe(max(0.0, time.time() - published))

    def refused(self, kind: RefusalKind, role: str) -> None:
        """Count a refusal by a rate or concurrency limit."""
        self.refusals.labels(kind, role).inc()

    def answered(
        self, method: str, route: str | None, status: int, seconds: float
    ) -> None:
        """Count an HTTP request and its duration."""
        method = method if method in _METHODS else "OTHER"
        route = route or _UNMATCHED
        self.requests.labels(method, route, f"{status // 100}xx").inc()
        self.durations.labels(method, route).observe(seconds)


@web.middleware
async def http_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every request by route template and status; outermost middleware."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:  # redirects the error boundary lets through
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away
        raise
    finally:
        request.app[METRICS].answered(
            request.method,
            route_of(request),
            status,
            time.perf_counter() - started,
        )


async def watch_loop(app: web.Application) -> AsyncIterator[None]:
    """Measure the event loop's lag for the life of the app."""
    task = asyncio.create_task(_measure_lag(app[METRICS]), name="loop-lag")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _measure_lag(metrics: Metrics) -> None:
    """Sleep, see how late the wake-up was; keep the worst of a short window.

    A callback that holds the loop delays every wake-up behind it, so the
    lateness of a sleep is what every request waiting on the loop suffered.
    """
    loop = asyncio.get_running_loop()
    recent: collections.deque[float] = collections.deque(maxlen=_LAG_WINDOW)
    while True:
        started = loop.time()
        await asyncio.sleep(_LAG_INTERVAL_SECONDS)
        recent.append(max(0.0, loop.time() - started - _LAG_INTERVAL_SECONDS))
        metrics.loop_lag_seconds = max(recent)
        metrics.loop_lag.set(metrics.loop_lag_seconds)
