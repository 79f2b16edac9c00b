"""Live fan-out: one Redis subscription per web process, shared by every reader.

The :class:`Relay` holds a single pub/sub connection and subscribes to a query's
channel while at least one local :class:`QueryFeed` wants it. A feed delivers a
query's events after a given position exactly once and in order: it subscribes
first, replays the stream second, and drops anything at or below the last id it
delivered, so events published during the replay are neither lost nor doubled.
If the subscription connection breaks, redis-py reconnects and subscribes again;
each feed of a re-subscribed channel then replays from its last id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from onevice.base.errors import DependencyUnavailable
from onevice.services.bus import (
    ChunkBus,
    EventId,
    StreamEvent,
    channel_name,
)

log = structlog.get_logger(__name__)

_GAP: Final = object()  # the subscription broke: replay from the last id
_SUBSCRIBE_TIMEOUT: Final = 5.0


class FeedOverflow(Exception):
    """The reader fell too far behind; it should resume later."""


class QueryFeed:
    """The events of one query after a position, for one reader."""

    def __init__(
        self,
        relay: Relay,
        bus: ChunkBus,
        query_id: str,
        *,
        after: EventId | None,
        max_pending: int,
    ):
        self.relay = relay
        self.bus = bus
        self.query_id = query_id
        self.last = after
        self.max_pending = max_pending
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self.overflowed = False

    def deliver(self, item: StreamEvent | object) -> None:
        """Called by the relay for each live event (and for gaps)."""
        if self._queue.qsize() >= self.max_pending:
            self.overflowed = True
        self._queue.put_nowait(item)

    async def __aenter__(self) -> QueryFeed:
        await self.relay.add(self.query_id, self)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.relay.remove(self.query_id, self)

    async def events(self) -> AsyncIterator[StreamEvent]:
        """Replayed events, then live ones, ending after the final event.

        A reader already past the final event gets nothing and the feed ends.
        Whether the query had its final event is read before the replay: a
        final event appended after that read is then either in the replay or
        on its way live, so the feed never ends before delivering it.
        """
        finished = await self.bus.has_final(self.query_id)
        pending = await self.bus.replay(self.query_id, self.last)
        if finished and not any(event.is_final for event in pending):
            return
        while True:
            for event in pending:
                if self._fresh(event):
                    yield event
                    if event.is_final:
                        return
            item = await self._queue.get()
            if self.overflowed:
                raise FeedOverflow(self.query_id)
            if item is _GAP:
                pending = await self.bus.replay(self.query_id, self.last)
            else:
                assert isinstance(item, StreamEvent)
                pending = [item]

    def _fresh(self, event: StreamEvent) -> bool:
        if self.last is not None and event.id <= self.last:
            return False
        self.last = event.id
        return True


class Relay:
    """The process's single subscription, fanned out to local feeds."""

    def __init__(self, client: Redis):
        self._pubsub: PubSub = client.pubsub()
        self._feeds: dict[str, set[QueryFeed]] = {}
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._wake = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read(), name="relay-reader")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def add(self, query_id: str, feed: QueryFeed) -> None:
        """Register ``feed``; return once the channel is surely subscribed."""
        channel = channel_name(query_id)
        self._feeds.setdefault(channel, set()).add(feed)
        confirmed = self._confirmed.get(channel)
        if confirmed is None:
            confirmed = asyncio.get_running_loop().create_future()
            self._confirmed[channel] = confirmed
            await self._pubsub.subscribe(channel)
            self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(confirmed), _SUBSCRIBE_TIMEOUT)
        except TimeoutError:
            await self.remove(query_id, feed)
            raise DependencyUnavailable(
                "Live updates are unavailable; try again",
                details={"dependency": "redis"},
            ) from None

    async def remove(self, query_id: str, feed: QueryFeed) -> None:
        channel = channel_name(query_id)
        feeds = self._feeds.get(channel)
        if feeds is None:
            return
        feeds.discard(feed)
        if feeds:
            return
        del self._feeds[channel]
        self._confirmed.pop(channel, None)
        with contextlib.suppress(RedisConnectionError, RedisTimeoutError):
            await self._pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        while True:
            if not self._pubsub.subscribed:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                # Blocks until a message arrives; unsubscribing from the last
                # channel delivers a confirmation, so this never waits forever.
                message = await self._pubsub.get_message(timeout=None)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("relay_disconnected", error=type(exc).__name__)
                await asyncio.sleep(0.2)
                continue
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
        kind = message["type"]
        if kind == "subscribe":
            confirmed = self._confirmed.get(channel)
            if confirmed is None:
                return
            if confirmed.done():
                # A second confirmation means redis-py re-subscribed after a
                # lost connection: whatever was published meanwhile is only in
                # the stream, so the channel's feeds replay from their last id.
                for feed in list(self._feeds.get(channel, ())):
                    feed.deliver(_GAP)
            else:
                confirmed.set_result(None)
        elif kind == "message":
            feeds = self._feeds.get(channel)
            if not feeds:
                return
            events = StreamEvent.from_message(message["data"])
            for feed in list(feeds):
                for event in events:
                    feed.deliver(event)
