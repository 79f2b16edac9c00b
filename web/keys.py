"""Typed keys for application state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from onevice.agents.registry import AgentRegistry
from onevice.agents.submission import QueryService
from onevice.base.settings import Settings
from onevice.identity.okta import OktaSSO
from onevice.identity.sessions import Sessions
from onevice.identity.tokens import TokenVerifier
from onevice.services.bus import ChunkBus
from onevice.services.ratelimit import Limits, RateLimiter, SocketSlots
from onevice.storage.analytics import AnalyticsStore
from onevice.storage.db import Pool
from onevice.storage.feedback import FeedbackStore
from onevice.storage.projects import ProjectStore
from onevice.storage.queries import QueryStore
from onevice.storage.users import UserStore

if TYPE_CHECKING:
    from web.metrics import Metrics
    from web.relay import Relay
    from web.sockets import SocketHub

SETTINGS = web.AppKey("settings", Settings)
POOL: web.AppKey[Pool] = web.AppKey("pool")
REDIS = web.AppKey("redis", Redis)
BUS = web.AppKey("bus", ChunkBus)
STORE = web.AppKey("store", QueryStore)
USERS = web.AppKey("users", UserStore)
PROJECTS = web.AppKey("projects", ProjectStore)
FEEDBACK = web.AppKey("feedback", FeedbackStore)
ANALYTICS = web.AppKey("analytics", AnalyticsStore)
SESSIONS = web.AppKey("sessions", Sessions)
OKTA = web.AppKey("okta", OktaSSO)
REGISTRY = web.AppKey("registry", AgentRegistry)
QUERIES = web.AppKey("queries", QueryService)
VERIFIER = web.AppKey("verifier", TokenVerifier)
LIMITER = web.AppKey("limiter", RateLimiter)
LIMITS = web.AppKey("limits", Limits)
SOCKET_SLOTS = web.AppKey("socket_slots", SocketSlots)
RELAY: web.AppKey[Relay] = web.AppKey("relay")
SOCKETS: web.AppKey[SocketHub] = web.AppKey("sockets")
STARTED_AT = web.AppKey("started_at", float)
METRIC_REGISTRY = web.AppKey("metric_registry", CollectorRegistry)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
