"""One asyncio event loop per worker process, owning the process's connections.

Celery tasks are synchronous; agents are coroutines that wait on I/O. The loop
runs in a thread for the life of the process, pools are opened on it once, and
each task hands its coroutine over and waits for the result. With the threads
pool many tasks wait at once, so one process keeps many queries in flight.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import redis.asyncio as aioredis
import structlog

from onevice.agents.registry import load_registry
from onevice.agents.runner import QueryRunner
from onevice.base.settings import Settings
from onevice.services import queue
from onevice.services.bus import ChunkBus
from onevice.storage.db import Pool, open_pool
from onevice.storage.queries import QueryStore

log = structlog.get_logger(__name__)

T = TypeVar("T")


class WorkerRuntime:
    """The event loop thread and the connections that live on it."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pool: Pool | None = None
        self._redis: aioredis.Redis | None = None
        self._heartbeat: asyncio.Task[None] | None = None
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
        self.runner = QueryRunner(
            store=QueryStore(self._pool),
            bus=ChunkBus(self._redis, ttl_seconds=settings.stream_ttl_seconds),
            registry=load_registry(settings),
            settings=settings,
        )
        self._heartbeat = asyncio.create_task(self._beat())
        log.info("worker_runtime_started", worker=self.name)

    async def _close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self._redis is not None:
            try:
                await self._redis.zrem(queue.WORKERS_KEY, self.name)
            except Exception as exc:
                log.warning("heartbeat_not_cleared", error=type(exc).__name__)
            await self._redis.aclose()
        if self._pool is not None:
            await self._pool.close()
        log.info("worker_runtime_stopped", worker=self.name)

    async def _beat(self) -> None:
        """Tell the web tier this worker is alive (read by ``/health``)."""
        assert self._redis is not None
        while True:
            try:
                await self._redis.zadd(queue.WORKERS_KEY, {self.name: time.time()})
            except Exception as exc:
                log.warning("heartbeat_failed", error=type(exc).__name__)
            await asyncio.sleep(queue.HEARTBEAT_SECONDS)
