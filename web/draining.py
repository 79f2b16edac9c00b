"""Shutting down without losing work (SIGTERM, a deploy, a scale-down).

aiohttp stops listening first, then runs the app's shutdown callbacks, then
gives in-flight requests ``shutdown_timeout_seconds`` to finish. The shutdown
callback sets ``DRAINING``; requests that would otherwise wait on a query for
long stop waiting then: a POST answers 202 with the query's ``Location`` (the
query goes on in the worker tier), an SSE stream ends so the client reconnects
elsewhere with ``Last-Event-ID``, and sockets are told to reconnect and resume.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

DRAINING = web.AppKey("draining", asyncio.Event)


async def unless_draining(app: web.Application, work: Coroutine[Any, Any, Any]) -> bool:
    """Run ``work`` until it ends or the process starts draining.

    True when ``work`` ended by itself; False when draining cut it short.
    Exceptions of ``work`` propagate.
    """
    task = asyncio.ensure_future(work)
    draining = asyncio.ensure_future(app[DRAINING].wait())
    try:
        await asyncio.wait({task, draining}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        draining.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        return False
    task.result()  # the work's own exception, if it raised one
    return True
