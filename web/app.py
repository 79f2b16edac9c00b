"""The aiohttp application: construction and the life of its connections."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry

from onevice.agents.registry import AgentRegistry, load_registry
from onevice.agents.submission import QueryService
from onevice.base.settings import Settings
from onevice.identity.okta import OktaSSO
from onevice.identity.sessions import Sessions
from onevice.identity.tokens import TokenVerifier
from onevice.services import queue
from onevice.services.bus import ChunkBus
from onevice.services.ratelimit import Limits, RateLimiter, SocketSlots
from onevice.storage.analytics import AnalyticsStore
from onevice.storage.db import open_pool
from onevice.storage.feedback import FeedbackStore
from onevice.storage.projects import ProjectStore
from onevice.storage.queries import QueryStore
from onevice.storage.users import UserStore
from web import (
    health,
    openapi,
    routes_analytics,
    routes_auth,
    routes_feedback,
    routes_identity,
    routes_projects,
    routes_queries,
    routes_users,
    scrape,
)
from web.auth import authenticate, rate_limit
from web.draining import DRAINING
from web.keys import (
    ANALYTICS,
    BUS,
    FEEDBACK,
    LIMITER,
    LIMITS,
    METRIC_REGISTRY,
    METRICS,
    OKTA,
    POOL,
    PROJECTS,
    QUERIES,
    REDIS,
    REGISTRY,
    RELAY,
    SESSIONS,
    SETTINGS,
    SOCKET_SLOTS,
    SOCKETS,
    STARTED_AT,
    STORE,
    USERS,
    VERIFIER,
)
from web.load import load_monitor
from web.metrics import Metrics, http_metrics, watch_loop
from web.middlewares import error_boundary
from web.relay import Relay
from web.sockets import SocketHub, websocket

log = structlog.get_logger(__name__)


async def _connections(app: web.Application) -> AsyncIterator[None]:
    """Open the pool, Redis, the relay and the Celery producer; close them after."""
    settings = app[SETTINGS]
    pool = open_pool(settings.require_database_url(), max_size=20)
    await pool.open(wait=False)
    client = aioredis.Redis.from_url(
        settings.require_redis_url(), socket_timeout=5, socket_connect_timeout=3
    )
    relay = Relay(client)
    await relay.start()
    celery = queue.make_celery(settings)
    store = QueryStore(pool)
    bus = ChunkBus(client, ttl_seconds=settings.stream_ttl_seconds)
    app[POOL] = pool
    app[REDIS] = client
    app[RELAY] = relay
    app[STORE] = store
    app[USERS] = UserStore(pool)
    app[PROJECTS] = ProjectStore(pool)
    app[FEEDBACK] = FeedbackStore(pool)
    app[ANALYTICS] = AnalyticsStore(pool)
    app[SESSIONS] = Sessions.for_settings(settings, pool)
    if settings.okta_issuer:
        app[OKTA] = OktaSSO(settings, client)
    app[BUS] = bus
    app[LIMITER] = RateLimiter(client)
    app[SOCKET_SLOTS] = SocketSlots(client)
    app[QUERIES] = QueryService(
        store=store, bus=bus, registry=app[REGISTRY], celery=celery, settings=settings
    )
    log.info("web_started", agents=app[REGISTRY].available())
    yield
    await relay.close()
    await client.aclose()
    await pool.close()
    celery.close()
    log.info("web_stopped")


async def _say_goodbye(app: web.Application) -> None:
    """Shutdown has begun: stop waiting on queries and send sockets elsewhere."""
    log.info("web_draining", sockets=len(app[SOCKETS].sockets))
    app[DRAINING].set()
    await app[SOCKETS].close_all("The server is restarting; reconnect and resume")


def create_app(
    settings: Settings, registry: AgentRegistry | None = None
) -> web.Application:
    """The web tier for ``settings``; agents from ``registry`` or the settings."""
    app = web.Application(
        middlewares=[http_metrics, error_boundary, authenticate, rate_limit],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[REGISTRY] = registry or load_registry(settings)
    app[VERIFIER] = TokenVerifier.from_settings(settings)
    app[SOCKETS] = SocketHub()
    app[LIMITS] = Limits(dict(settings.org_plans), settings.default_plan)
    app[STARTED_AT] = time.monotonic()
    app[DRAINING] = asyncio.Event()
    app[METRIC_REGISTRY] = CollectorRegistry()
    app[METRICS] = Metrics(app[METRIC_REGISTRY], app[SOCKETS])
    app.cleanup_ctx.append(_connections)
    app.cleanup_ctx.append(health.neo4j_driver)
    app.cleanup_ctx.append(watch_loop)
    app.cleanup_ctx.append(load_monitor)
    app.on_shutdown.append(_say_goodbye)
    app.add_routes(routes_queries.routes)
    app.add_routes(health.routes)
    app.add_routes(scrape.routes)
    app.add_routes(routes_identity.routes)
    app.add_routes(routes_users.routes)
    app.add_routes(routes_auth.routes)
    app.add_routes(routes_projects.routes)
    app.add_routes(routes_feedback.routes)
    app.add_routes(routes_analytics.routes)
    app.add_routes(openapi.routes)
    app.router.add_get("/ws", websocket)
    return app
