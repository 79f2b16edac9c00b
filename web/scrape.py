"""``GET /metrics``: the Prometheus text format, with figures read from the stores.

Some figures belong to the whole system, not to one web process: the queue's
backlog (from the broker), queries by agent and status and the models' token
usage and cost (from PostgreSQL, so they include the workers' work), and the
workers alive. They are read when Prometheus scrapes, the reads in parallel and
each under a short timeout, and every web process reports the same values (an
alert takes the ``max`` over instances). A store that cannot be read leaves its
figures out and says so in ``onevice_dependency_up``; the scrape still answers.

prometheus-client collects synchronously, so the handler reads first, hands the
readings to :class:`StoreCollector`, and renders at once, with no await in
between for another scrape to slip into.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Iterable, Sequence
from typing import Final, TypeVar

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from onevice.services import backlog
from onevice.services.transient import TRANSIENT_ERRORS
from onevice.storage.queries import QueryTally
from onevice.storage.workers import WorkerStore
from web.keys import METRICS, POOL, REDIS, STORE

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()

#: Prometheus waits 10 s by default; two seconds per store leaves room.
READ_TIMEOUT_SECONDS: Final = 2.0

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class StoreReadings:
    """What one scrape read from the stores; None where a read failed."""

    backlog: backlog.Backlog | None = None
    tallies: Sequence[QueryTally] | None = None
    workers_alive: int | None = None

    @property
    def postgres_up(self) -> bool:
        return self.tallies is not None and self.workers_alive is not None


class StoreCollector(Collector):
    """Turns the latest :class:`StoreReadings` into metric families."""

    def __init__(self) -> None:
        self.readings = StoreReadings()

    def collect(self) -> Iterable[Metric]:
        readings = self.readings
        up = GaugeMetricFamily(
            "onevice_dependency_up",
            "Whether this scrape could read the dependency (1) or not (0)",
            labels=["dependency"],
        )
        up.add_metric(["redis"], float(readings.backlog is not None))
        up.add_metric(["postgres"], float(readings.postgres_up))
        yield up
        if readings.backlog is not None:
            yield from _backlog_families(readings.backlog)
        if readings.tallies is not None:
            yield from _tally_families(readings.tallies)
        if readings.workers_alive is not None:
            yield GaugeMetricFamily(
                "onevice_workers_alive",
                "Workers whose heartbeat is recent",
                value=readings.workers_alive,
            )


def _backlog_families(measured: backlog.Backlog) -> Iterable[Metric]:
    messages = GaugeMetricFamily(
        "onevice_queue_messages",
        "Messages of the agent queue: waiting, or held by a worker (reserved"
        " or running)",
        labels=["state"],
    )
    messages.add_metric(["waiting"], measured.waiting)
    messages.add_metric(["held"], measured.held)
    yield messages
    yield GaugeMetricFamily(
        "onevice_queue_oldest_wait_seconds",
        "Age of the oldest message waiting in the agent queue",
        value=measured.oldest_wait_seconds,
    )


def _tally_families(tallies: Sequence[QueryTally]) -> Iterable[Metric]:
    queries = GaugeMetricFamily(
        "onevice_queries",
        "Queries by agent and status, from PostgreSQL",
        labels=["agent", "status"],
    )
    tokens = CounterMetricFamily(
        "onevice_llm_tokens",
        "Model tokens used by all queries, by agent and kind",
        labels=["agent", "kind"],
    )
    cost = CounterMetricFamily(
        "onevice_llm_cost_usd",
        "Model cost of all queries in US dollars, by agent",
        labels=["agent"],
    )
    usage: dict[str, tuple[int, int, float]] = {}
    for tally in tallies:
        queries.add_metric([tally.agent, tally.status], tally.queries)
        inputs, outputs, dollars = usage.get(tally.agent, (0, 0, 0.0))
        usage[tally.agent] = (
            inputs + tally.input_tokens,
            outputs + tally.output_tokens,
            dollars + tally.cost_usd,
        )
    for agent, (inputs, outputs, dollars) in sorted(usage.items()):
        tokens.add_metric([agent, "input"], inputs)
        tokens.add_metric([agent, "output"], outputs)
        cost.add_metric([agent], dollars)
    return (queries, tokens, cost)


async def _read(what: str, read: Awaitable[T]) -> T | None:
    """``read``'s value, or None if its store is down or too slow."""
    try:
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            return await read
    except (*TRANSIENT_ERRORS, RedisError, TimeoutError) as exc:
        log.warning("metrics_read_failed", store=what, error=type(exc).__name__)
        return None


async def read_stores(app: web.Application) -> StoreReadings:
    """Read the backlog, the query tallies and the live workers, in parallel."""
    measured, tallies, workers_alive = await asyncio.gather(
        _read("redis", backlog.measure(app[REDIS])),
        _read("postgres", app[STORE].tally()),
        _read("postgres", WorkerStore(app[POOL]).alive()),
    )
    return StoreReadings(measured, tallies, workers_alive)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Every metric of this process and of the stores, for Prometheus."""
    readings = await read_stores(request.app)
    instruments = request.app[METRICS]
    instruments.stores.readings = readings
    body = generate_latest(instruments.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
