"""One asyncio event loop per worker process, owning the process's connections.

Celery tasks are synchronous; agents are coroutines that wait on I/O. The loop
runs in a thread for the life of the process, pools are opened on it once, and
each task hands its coroutine over and waits for the result. With the threads
pool many tasks wait at once, so one process keeps many queries in flight.

The loop also keeps the worker's lease (a heartbeat row in PostgreSQL) and
sweeps for running queries whose worker went silent, sending them to the queue
again so a live worker takes them over without waiting for the broker's
visibility timeout.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, Final, TypeVar

import redis.asyncio as aioredis
import structlog
from celery import Celery

from onevice.agents.registry import load_registry
from onevice.agents.runner import QueryRunner
from onevice.agents.sources import Stores
from onevice.agents.tracing import make_tracer
from onevice.agents.writing import make_writer
from onevice.base.settings import Settings
from onevice.services import queue
from onevice.services.bus import ChunkBus
from onevice.storage.db import Pool, open_pool
from onevice.storage.graph.connect import backend_name, open_graph
from onevice.storage.graph.port import Graph
from onevice.storage.projects import ProjectStore
from onevice.storage.queries import QueryStore
from onevice.storage.talent import TalentStore
from onevice.storage.workers import HEARTBEAT_SECONDS, WorkerStore

log = structlog.get_logger(__name__)

T = TypeVar("T")

_SWEEP_SECONDS: Final = 5.0
#: One re-send per orphaned query per this many seconds, across all workers.
_REQUEUE_GUARD_SECONDS: Final = 60


def worker_name() -> str:
    """This process's name in the ``workers`` table."""
    return f"{socket.gethostname()}:{os.getpid()}"


class WorkerRuntime:
    """The event loop thread and the connections that live on it."""

    def __init__(self, settings: Settings, celery: Celery):
        self.settings = settings
        self.celery = celery
        self.name = worker_name()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pool: Pool | None = None
        self._redis: aioredis.Redis | None = None
        self._graph: Graph | None = None
        self._workers: WorkerStore | None = None
        self._chores: list[asyncio.Task[None]] = []
        self.runner: QueryRunner | None = None

    def ensure_started(self) -> None:
        """Start the loop and open connections, once per process."""
        with self._lock:
            if self._loop is not None:
                return
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="onevice-agents", daemon=True
            )
            thread.start()
            self._loop, self._thread = loop, thread
            self._submit(self._open()).result(timeout=30)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the process loop and wait for its result."""
        self.ensure_started()
        return self._submit(coro).result()

    def stop(self) -> None:
        """Close connections and stop the loop."""
        with self._lock:
            if self._loop is None:
                return
            try:
                self._submit(self._close()).result(timeout=15)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                if self._thread is not None:
                    self._thread.join(timeout=5)
                self._loop = None

    def _submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _open(self) -> None:
        settings = self.settings
        self._pool = open_pool(
            settings.require_database_url(),
            min_size=2,
            max_size=max(4, min(settings.worker_concurrency, 20)),
        )
        await self._pool.open(wait=True)
        self._redis = aioredis.Redis.from_url(
            settings.require_redis_url(),
            socket_timeout=10,
            max_connections=max(10, settings.worker_concurrency + 5),
        )
        self._graph = open_graph(settings)
        self._workers = WorkerStore(self._pool)
        self.runner = QueryRunner(
            store=QueryStore(self._pool),
            bus=ChunkBus(self._redis, ttl_seconds=settings.stream_ttl_seconds),
            registry=load_registry(settings),
            settings=settings,
            worker=self.name,
            stores=Stores(
                projects=ProjectStore(self._pool),
                talent=TalentStore(self._pool),
                graph=self._graph,
                graph_name=backend_name(settings),
            ),
            writer=make_writer(settings),
            tracer=make_tracer(settings),
        )
        await self._workers.beat(self.name)
        self._chores = [
            asyncio.create_task(self._beat()),
            asyncio.create_task(self._sweep()),
        ]
        log.info("worker_runtime_started", worker=self.name)

    async def _close(self) -> None:
        for chore in self._chores:
            chore.cancel()
        if self.runner is not None:
            await asyncio.to_thread(self.runner.tracer.flush)
        if self._workers is not None:
            try:
                await self._workers.leave(self.name)
            except Exception as exc:
                log.warning("lease_not_released", error=type(exc).__name__)
        if self._graph is not None:
            await self._graph.close()
        if self._redis is not None:
            await self._redis.aclose()
        if self._pool is not None:
            await self._pool.close()
        log.info("worker_runtime_stopped", worker=self.name)

    async def _beat(self) -> None:
        """Keep this worker's lease fresh (read by claims and by ``/health``)."""
        assert self._workers is not None
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self._workers.beat(self.name)
            except Exception as exc:
                log.warning("heartbeat_failed", error=type(exc).__name__)

    async def _sweep(self) -> None:
        """Send running queries of dead workers to the queue again."""
        assert self._workers is not None and self._redis is not None
        while True:
            await asyncio.sleep(_SWEEP_SECONDS)
            try:
                for query_id, agent in await self._workers.orphaned():
                    guard = f"onevice:requeue:{{{query_id}}}"
                    if await self._redis.set(
                        guard, self.name, nx=True, ex=_REQUEUE_GUARD_SECONDS
                    ):
                        await queue.enqueue(self.celery, query_id, agent)
                        log.warning("query_requeued", query_id=query_id)
                await self._workers.forget_dead()
            except Exception as exc:
                log.warning("sweep_failed", error=type(exc).__name__)
