"""The backlog read from the broker: waiting, held by workers, oldest age."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from redis.asyncio import Redis

from onevice.services import backlog, queue
from tests.fix_services import Isolate


async def test_waiting_and_held_messages_are_counted(isolate: Isolate) -> None:
    """Sent tasks wait; one taken without an ack counts as held, not waiting."""
    settings = await isolate()
    celery = queue.make_celery(settings)
    client = Redis.from_url(settings.require_redis_url())
    try:
        assert await backlog.measure(client) == backlog.Backlog(0, 0, 0.0)
        before = time.time()
        for number in range(3):
            await queue.enqueue(celery, f"query_backlog_{number}", "test_stream")
        first = await backlog.measure(client)
        assert (first.waiting, first.held, first.total) == (3, 0, 3)
        assert 0.0 < first.oldest_wait_seconds <= time.time() - before

        # A consumer that takes a message and has not acknowledged it yet;
        # closing its connection would put the message back in the queue.
        connection = celery.connection_for_read()
        try:
            channel: Any = connection.default_channel  # kombu's virtual channel
            message = await asyncio.to_thread(channel.basic_get, queue.QUEUE)
            assert message is not None
            second = await backlog.measure(client)
            assert (second.waiting, second.held) == (2, 1)
        finally:
            await asyncio.to_thread(connection.release)
        third = await backlog.measure(client)
        assert (third.waiting, third.held) == (3, 0)
    finally:
        celery.close()
        await client.aclose()


async def test_the_oldest_message_sets_the_age(isolate: Isolate) -> None:
    """The age comes from the header of the message taken next."""
    settings = await isolate()
    client = Redis.from_url(settings.require_redis_url())
    stamped = b'{"headers": {"%s": %f}, "body": ""}'
    try:
        await client.lpush(queue.QUEUE, stamped % (queue.ENQUEUED_AT.encode(), 100.0))
        await client.lpush(queue.QUEUE, stamped % (queue.ENQUEUED_AT.encode(), 200.0))
        await client.lpush(backlog.queue_keys()[1], b"not json")
        measured = await backlog.measure(client)
        assert measured.waiting == 3
        assert measured.oldest_wait_seconds >= time.time() - 100.0 - 1.0
    finally:
        await client.aclose()
