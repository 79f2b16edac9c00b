"""The queue: the Celery application both tiers share, and how work is sent.

The web tier sends tasks by name (``RUN_QUERY``) and never imports the worker's
code. The settings below are the ones a query pipeline on a Redis broker needs:

- ``acks_late`` + ``reject_on_worker_lost``: a task is acknowledged only when it
  has finished, so a worker killed mid-query leaves it to be delivered again.
- prefetch 1: a slow query does not park queued ones behind it.
- visibility timeout above the longest query: Redis redelivers an
  unacknowledged task after this long, so it must never fire for a live one. It
  is also how long a query waits for a new worker when its worker was killed.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Final

from celery import Celery
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from onevice.base.errors import DependencyUnavailable
from onevice.base.settings import Settings

RUN_QUERY: Final = "onevice.run_query"
QUEUE: Final = "agents"
#: Message header with the Unix time the message was sent (see ``backlog``).
ENQUEUED_AT: Final = "onevice_enqueued_at"
#: Longest a stopping worker waits for its running queries.
SOFT_SHUTDOWN_CEILING_SECONDS: Final = 270.0


def make_celery(settings: Settings) -> Celery:
    """The Celery application, configured for OneVice's queries."""
    app = Celery("onevice", broker=settings.require_redis_url(), set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_seconds,
            # Sweep for tasks whose worker vanished every tenth of the timeout,
            # so a killed worker's query is picked up soon after it expires
            # (kombu's default sweeps about every 100 s).
            "unacked_restore_interval": max(
                1, int(settings.visibility_timeout_seconds / 10)
            ),
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        # Events for Flower: task names, arguments and timings per worker.
        worker_send_task_events=True,
        task_send_sent_event=True,
        # On SIGTERM a worker stops taking tasks and finishes what it holds; a
        # task still running when the timeout ends goes back to the queue. The
        # bound stays under Render's longest shutdown delay (300 s) with room
        # to close connections, so a query of the longest kind can finish.
        worker_soft_shutdown_timeout=min(
            settings.query_time_limit_seconds, SOFT_SHUTDOWN_CEILING_SECONDS
        ),
        worker_enable_soft_shutdown_on_idle=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app


def worker_command(python: str, *, concurrency: int, name: str) -> list[str]:
    """The worker tier's command line, as in the Procfile, run by ``python``.

    The threads pool gives one process many query slots; gossip and mingle
    are off because nothing here relies on workers knowing each other.
    """
    return [
        python,
        "-m",
        "celery",
        "-A",
        "workers.app",
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--hostname",
        f"{name}@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
        "-E",
    ]


async def enqueue(app: Celery, query_id: str, agent: str) -> None:
    """Send the query to the worker tier; DependencyUnavailable if the broker is down.

    kombu publishes synchronously, so the send runs in the default executor to
    keep the event loop free.
    """
    send = functools.partial(
        app.send_task,
        RUN_QUERY,
        args=[query_id],
        kwargs={"agent": agent},
        task_id=query_id,
        queue=QUEUE,
        headers={ENQUEUED_AT: time.time()},
        retry=True,
        retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
    )
    try:
        await asyncio.get_running_loop().run_in_executor(None, send)
    except (KombuOperationalError, RedisError, OSError) as exc:
        raise DependencyUnavailable(
            "The query queue is unavailable", details={"dependency": "redis"}
        ) from exc


async def revoke(app: Celery, query_id: str) -> None:
    """Ask workers to drop the task if they have not started it (best effort)."""
    call = functools.partial(app.control.revoke, query_id)
    await asyncio.get_running_loop().run_in_executor(None, call)
