"""The chunk bus against a real Redis: numbering, fencing, finality, cancel."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis

from onevice.services.bus import (
    CancelRequested,
    ChunkBus,
    EventId,
    EventKind,
    QueryAlreadyFinal,
    StaleAttempt,
    StreamEvent,
    channel_name,
    events_key,
)


@pytest.fixture
def bus(redis_client: aioredis.Redis) -> ChunkBus:
    return ChunkBus(redis_client, ttl_seconds=60)


@pytest.fixture
def query_id() -> str:
    return f"query_{uuid.uuid4().hex}"


async def test_chunks_are_numbered_without_gaps(bus: ChunkBus, query_id: str) -> None:
    """Chunks get k-0 ids with k = 1, 2, 3; other events slot in after them."""
    kinds: list[EventKind] = ["typing", "chunk", "chunk", "typing", "chunk", "complete"]
    ids = [str((await bus.append(query_id, 1, kind, {})).id) for kind in kinds]
    assert ids == ["0-1", "1-0", "2-0", "2-1", "3-0", "3-1"]


async def test_replay_after_a_chunk_starts_at_the_next_event(
    bus: ChunkBus, query_id: str
) -> None:
    """Replaying after chunk 1 returns everything that followed it, in order."""
    for kind in ("chunk", "typing", "chunk", "complete"):
        await bus.append(query_id, 1, kind, {})
    replayed = await bus.replay(query_id, EventId(1, 0))
    assert [(str(e.id), e.kind) for e in replayed] == [
        ("1-1", "typing"),
        ("2-0", "chunk"),
        ("2-1", "complete"),
    ]


async def test_an_older_attempt_cannot_write(bus: ChunkBus, query_id: str) -> None:
    """Once attempt 2 wrote, attempt 1 is fenced out."""
    await bus.append(query_id, 2, "restarted", {})
    with pytest.raises(StaleAttempt):
        await bus.append(query_id, 1, "chunk", {})


async def test_nothing_follows_the_final_event(bus: ChunkBus, query_id: str) -> None:
    """After the final event, further appends are refused."""
    await bus.append(query_id, 1, "complete", {})
    with pytest.raises(QueryAlreadyFinal):
        await bus.append(query_id, 1, "failed", {})


async def test_cancel_refuses_steps_but_not_the_final_event(
    bus: ChunkBus, query_id: str
) -> None:
    """After a cancel request a chunk is refused; the cancelled event is written."""
    await bus.append(query_id, 1, "chunk", {})
    await bus.request_cancel(query_id)
    with pytest.raises(CancelRequested):
        await bus.append(query_id, 1, "chunk", {})
    final = await bus.append(query_id, 1, "cancelled", {})
    assert str(final.id) == "1-1"


async def test_streams_expire(
    bus: ChunkBus, query_id: str, redis_client: aioredis.Redis
) -> None:
    """The replay buffer carries the configured TTL."""
    await bus.append(query_id, 1, "chunk", {})
    ttl = await redis_client.ttl(events_key(query_id))
    assert 0 < ttl <= 60


def test_event_ids_parse_bare_chunk_indexes() -> None:
    """An SSE Last-Event-ID of "7" means chunk 7 itself."""
    assert EventId.parse("7") == EventId(7, 0)


def test_event_ids_reject_garbage() -> None:
    """Event ids that are not k or k-n are refused."""
    with pytest.raises(ValueError):
        EventId.parse("seven")


async def test_a_burst_is_one_message_with_every_event(
    bus: ChunkBus, query_id: str, redis_client: aioredis.Redis
) -> None:
    """append_many numbers a burst in order and publishes it as one message."""
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(channel_name(query_id))
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    burst: list[tuple[EventKind, dict[str, Any]]] = [
        ("typing", {}),
        ("chunk", {"content": "a"}),
        ("chunk", {"content": "b"}),
    ]
    await bus.append_many(query_id, 1, burst)
    message = await pubsub.get_message(timeout=5)
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert message is not None
    events = StreamEvent.from_message(message["data"])
    assert [(str(e.id), e.data.get("content")) for e in events] == [
        ("0-1", None),
        ("1-0", "a"),
        ("2-0", "b"),
    ]


async def test_a_refused_burst_writes_nothing(bus: ChunkBus, query_id: str) -> None:
    """A burst refused because of a cancel leaves the stream as it was."""
    await bus.append(query_id, 1, "chunk", {})
    await bus.request_cancel(query_id)
    with pytest.raises(CancelRequested):
        await bus.append_many(query_id, 1, [("chunk", {}), ("chunk", {})])
    assert [str(e.id) for e in await bus.replay(query_id, None)] == ["1-0"]
