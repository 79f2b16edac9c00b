"""``GET /health`` (spec §7.4): real checks of every dependency."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, Final

import psutil
from aiohttp import web
from neo4j import AsyncDriver, AsyncGraphDatabase

import onevice
from onevice.storage.workers import WorkerStore
from web.keys import POOL, REDIS, SETTINGS, SOCKETS, STARTED_AT
from web.load import LOAD

routes = web.RouteTableDef()
NEO4J = web.AppKey("neo4j", AsyncDriver)

_CHECK_TIMEOUT: Final = 2.0
#: The knowledge graph's name inside FalkorDB.
FALKORDB_GRAPH: Final = "onevice"
_PROCESS: Final = psutil.Process(os.getpid())


async def _check(probe: Awaitable[Any]) -> str:
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT):
            healthy = await probe
    except Exception:
        return "unhealthy"
    return "healthy" if healthy is not False else "unhealthy"


async def _database(app: web.Application) -> bool:
    async with app[POOL].connection() as conn:
        await conn.execute("SELECT 1")
    return True


async def _redis(app: web.Application) -> bool:
    return bool(await app[REDIS].ping())


async def neo4j_driver(app: web.Application) -> AsyncIterator[None]:
    """Own one Neo4j driver for the process when Neo4j is the graph."""
    settings = app[SETTINGS]
    if not settings.neo4j_uri:
        yield
        return
    driver = AsyncGraphDatabase.driver(
        settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password)
    )
    app[NEO4J] = driver
    yield
    await driver.close()


async def _graph(app: web.Application) -> bool:
    driver = app.get(NEO4J)
    if driver is not None:
        await driver.verify_connectivity()
        return True
    # FalkorDB answers Cypher inside the same redis-server.
    reply = await app[REDIS].execute_command(  # type: ignore[no-untyped-call]
        "GRAPH.QUERY", FALKORDB_GRAPH, "RETURN 1"
    )
    return bool(reply)


async def _workers(app: web.Application) -> bool:
    return await WorkerStore(app[POOL]).alive() > 0


def _human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024:
            return f"{count:.1f}{unit}"
        count /= 1024
    return f"{count:.1f}TB"


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    """Status of this process and of every service it depends on."""
    app = request.app
    database, redis_state, graph, workers = await asyncio.gather(
        _check(_database(app)),
        _check(_redis(app)),
        _check(_graph(app)),
        _check(_workers(app)),
    )
    services = {
        "database": database,
        "redis": redis_state,
        "neo4j" if app[SETTINGS].neo4j_uri else "graph": graph,
        "workers": workers,
        # The model API is not called per health check (each call is billed);
        # a failing one shows as writer fallbacks in the query results.
        "external_apis": (
            "configured" if app[SETTINGS].anthropic_api_key else "not_configured"
        ),
    }
    healthy = all(
        v in ("healthy", "configured", "not_configured") for v in services.values()
    )
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "version": onevice.__version__,
        "environment": app[SETTINGS].env,
        "services": services,
        "load": app[LOAD].status,
        "metrics": {
            "uptime_seconds": round(time.monotonic() - app[STARTED_AT]),
            "active_connections": app[SOCKETS].active,
            "memory_usage": _human_bytes(_PROCESS.memory_info().rss),
            "cpu_usage": f"{_PROCESS.cpu_percent(interval=None):.0f}%",
        },
    }
    return web.json_response(body, status=200 if healthy else 503)
