"""The Celery application of the worker tier: ``celery -A workers.app worker``.

Importing this module starts nothing (Flower imports it too); the event loop
and connections are opened on the first task and closed at worker shutdown.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import Task
from celery.signals import (
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from onevice.base.settings import Settings
from onevice.services import logs, queue
from onevice.services.transient import TRANSIENT_ERRORS
from workers.runtime import WorkerRuntime

settings = Settings.from_env()
logs.configure(settings)
log = structlog.get_logger(__name__)

app = queue.make_celery(settings)
runtime = WorkerRuntime(settings, app)


@app.task(name=queue.RUN_QUERY, bind=True, max_retries=5)
def run_query(self: Task[Any, Any], query_id: str, agent: str = "") -> str:
    """Run one delivery of a query; retry later if a store is unreachable."""
    try:
        return str(runtime.run(runtime_runner().run(query_id)))
    except TRANSIENT_ERRORS as exc:
        log.warning("query_deferred", query_id=query_id, error=type(exc).__name__)
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc


def runtime_runner() -> Any:
    runtime.ensure_started()
    assert runtime.runner is not None
    return runtime.runner


@worker_ready.connect
@worker_process_init.connect
def _start_runtime(**_kwargs: Any) -> None:
    # Open connections and start the heartbeat before the first task arrives,
    # so /health sees the worker as soon as it can take work.
    runtime.ensure_started()


@worker_shutdown.connect
@worker_process_shutdown.connect
def _stop_runtime(**_kwargs: Any) -> None:
    runtime.stop()
