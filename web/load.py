"""Load of the web tier as clients should know it (spec §3.4).

Every ``load_check_seconds`` the monitor takes two readings: the event loop's
lag as ``web.metrics`` measures it (this process is overloaded), and the worker
tier's backlog from the broker (the oldest waiting query's age: answers will
start late). Either past its threshold makes the service ``degraded``; every
open socket then receives ``connection_status`` with the reasons and an
estimated delay, and ``healthy`` once both readings are back under their
thresholds. Pongs carry the current status, and a socket that connects while
the service is degraded is told at once.

The estimated delay is what the oldest waiting query has waited so far: with
one queue served first in, first out, a query sent now waits at least about as
long. It is given as a range from that wait to half as much again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
from collections.abc import AsyncIterator
from typing import Any, Final, Literal

import structlog
from aiohttp import web
from redis.exceptions import RedisError

from onevice.base.settings import Settings
from onevice.services import backlog
from onevice.services.transient import TRANSIENT_ERRORS
from web.keys import METRICS, REDIS, SETTINGS, SOCKETS
from web.messages import ws_message

log = structlog.get_logger(__name__)

Status = Literal["healthy", "degraded"]
_BACKLOG_TIMEOUT: Final = 1.0


@dataclasses.dataclass(frozen=True)
class Reading:
    """One look at the load."""

    loop_lag_seconds: float
    #: The oldest waiting query's age; None when the broker could not be read.
    oldest_wait_seconds: float | None


@dataclasses.dataclass
class LoadState:
    """The status and its reasons, changed only by ``update``."""

    settings: Settings
    status: Status = "healthy"
    reasons: tuple[str, ...] = ()
    delay_seconds: float = 0.0

    def update(self, reading: Reading) -> bool:
        """Apply ``reading``; True when the status changed."""
        reasons = []
        if reading.loop_lag_seconds > self.settings.degraded_loop_lag_seconds:
            reasons.append("web_overloaded")
        wait = reading.oldest_wait_seconds
        if wait is not None and wait > self.settings.degraded_wait_seconds:
            reasons.append("queue_backlog")
        self.reasons = tuple(reasons)
        self.delay_seconds = wait or 0.0
        status: Status = "degraded" if reasons else "healthy"
        changed = status != self.status
        self.status = status
        return changed

    def message(self) -> dict[str, Any]:
        """The ``connection_status`` message for the current status."""
        if self.status == "healthy":
            return ws_message(
                "connection_status",
                {"status": "healthy", "message": "Operating normally."},
            )
        low = max(1, math.floor(self.delay_seconds))
        high = max(low + 1, math.ceil(self.delay_seconds * 1.5))
        return ws_message(
            "connection_status",
            {
                "status": "degraded",
                "message": "Experiencing high load. Responses may be delayed.",
                "reasons": list(self.reasons),
                "estimated_delay": f"{low}-{high} seconds",
                "estimated_delay_seconds": round(self.delay_seconds, 1),
                "alternative_endpoints": list(self.settings.alternative_endpoints),
            },
        )


LOAD: web.AppKey[LoadState] = web.AppKey("load")


async def take_reading(app: web.Application, lag: float) -> Reading:
    """The loop lag measured by the caller, and the backlog from the broker."""
    try:
        async with asyncio.timeout(_BACKLOG_TIMEOUT):
            measured = await backlog.measure(app[REDIS])
    except (TimeoutError, RedisError, *TRANSIENT_ERRORS) as exc:
        log.warning("load_backlog_unreadable", error=type(exc).__name__)
        return Reading(lag, None)
    return Reading(lag, measured.oldest_wait_seconds)


async def watch(app: web.Application) -> None:
    """Check the load forever, telling sockets when the status changes."""
    state = app[LOAD]
    while True:
        await asyncio.sleep(app[SETTINGS].load_check_seconds)
        lag = app[METRICS].loop_lag_seconds
        if state.update(await take_reading(app, lag)):
            log.info("load_status_changed", status=state.status, reasons=state.reasons)
            app[SOCKETS].broadcast(state.message())


async def load_monitor(app: web.Application) -> AsyncIterator[None]:
    """Run ``watch`` for the app's lifetime (a cleanup context)."""
    app[LOAD] = LoadState(app[SETTINGS])
    task = asyncio.create_task(watch(app), name="load-monitor")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
