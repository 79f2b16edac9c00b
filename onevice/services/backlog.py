"""The worker tier's backlog, read from the broker.

With kombu's Redis transport a queue is a list per priority step (``agents``,
``agents\\x06\\x163``, …), filled at the left and taken from the right, and a
message delivered to a worker moves to the ``unacked`` hash until the task is
acknowledged. Tasks are acknowledged late (when they finish), so that hash
holds both the tasks a worker has reserved and the ones it is running.

Every message the web tier sends carries ``ENQUEUED_AT`` in its headers, which
gives the age of the oldest waiting message without asking the database.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Final

import orjson
from redis.asyncio import Redis

from onevice.services.queue import ENQUEUED_AT, QUEUE

#: kombu's defaults for the Redis transport (``priority_steps``, ``sep``,
#: ``unacked_key``); the Celery app does not change them.
PRIORITY_STEPS: Final = (0, 3, 6, 9)
PRIORITY_SEPARATOR: Final = "\x06\x16"
UNACKED_KEY: Final = "unacked"


@dataclasses.dataclass(frozen=True)
class Backlog:
    """What the worker tier has to do, at one moment."""

    #: Messages waiting in the queue for a worker.
    waiting: int
    #: Messages delivered to a worker and not yet acknowledged: reserved or running.
    held: int
    #: Age of the oldest waiting message in seconds; 0 when nothing waits.
    oldest_wait_seconds: float

    @property
    def total(self) -> int:
        return self.waiting + self.held


def queue_keys(queue: str = QUEUE) -> list[str]:
    """The Redis lists that hold ``queue``'s messages, one per priority step."""
    return [
        queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}"
        for step in PRIORITY_STEPS
    ]


def _enqueued_at(raw: bytes | str | None) -> float | None:
    if raw is None:
        return None
    try:
        message = orjson.loads(raw)
        return float(message["headers"][ENQUEUED_AT])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


async def measure(client: Redis, queue: str = QUEUE) -> Backlog:
    """Read the backlog of ``queue`` in one round trip."""
    keys = queue_keys(queue)
    async with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.llen(key)
        for key in keys:
            pipe.lindex(key, -1)  # the right end is taken next: the oldest
        pipe.hlen(UNACKED_KEY)
        replies = await pipe.execute()
    sizes, tails, held = replies[: len(keys)], replies[len(keys) : -1], replies[-1]
    stamps = [stamp for stamp in map(_enqueued_at, tails) if stamp is not None]
    oldest = max(0.0, time.time() - min(stamps)) if stamps else 0.0
    return Backlog(
        waiting=sum(int(size) for size in sizes),
        held=int(held),
        oldest_wait_seconds=oldest,
    )
