"""The client side of a bench run: WebSocket and Redis helpers that time replies.

Every message is stamped on arrival with both clocks: the monotonic one for
durations measured on the client, the wall one to compare with the worker's
``sent_ns`` stamp in a chunk's metadata.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from typing import Any, Final

import aiohttp
import orjson
import redis.asyncio as aioredis

from bench.stack import BenchError
from onevice.services.bus import StreamEvent

RECEIVE_TIMEOUT: Final = 30.0
#: A chunk event of ``bench_stream`` as the worker publishes it is this long.
REDIS_PAYLOAD: Final = b"1-0 " + b"x" * 202


@dataclasses.dataclass(frozen=True)
class Arrival:
    """A server message and the client's clocks when it arrived."""

    message: dict[str, Any]
    perf_ns: int
    wall_ns: int

    @property
    def kind(self) -> str:
        return str(self.message.get("type"))


@dataclasses.dataclass(frozen=True)
class QueryTiming:
    """One query as its client saw it."""

    first_chunk_ns: int
    complete_ns: int
    relay_ns: tuple[int, ...]


async def receive(ws: aiohttp.ClientWebSocketResponse) -> Arrival:
    """The next message from the server, stamped on arrival."""
    frame = await ws.receive(timeout=RECEIVE_TIMEOUT)
    perf_ns, wall_ns = time.perf_counter_ns(), time.time_ns()
    if frame.type != aiohttp.WSMsgType.TEXT:
        raise BenchError(f"the socket sent {frame.type.name}, not a message")
    return Arrival(orjson.loads(frame.data), perf_ns, wall_ns)


async def open_socket(
    session: aiohttp.ClientSession, url: str
) -> aiohttp.ClientWebSocketResponse:
    """Connect and read the ``connection`` greeting."""
    ws = await session.ws_connect(url)
    greeting = await receive(ws)
    if greeting.kind != "connection":
        raise BenchError(f"expected the connection greeting, got {greeting.message}")
    return ws


def query_frame(message_id: str, chunks: int, pace_ms: int = 0) -> str:
    """An ``agent_query`` for the bench agent, ``pace_ms`` between its chunks."""
    return orjson.dumps(
        {
            "message_id": message_id,
            "type": "agent_query",
            "data": {
                "agent": "bench_stream",
                "query": "How fast does a chunk travel?",
                "options": {"chunks": chunks, "pace_ms": pace_ms},
            },
        }
    ).decode()


async def timed_query(
    ws: aiohttp.ClientWebSocketResponse, chunks: int, pace_ms: int = 0
) -> QueryTiming:
    """Submit one query and read its events to the end, timing them."""
    started = time.perf_counter_ns()
    await ws.send_str(query_frame(f"bench_{uuid.uuid4().hex}", chunks, pace_ms))
    first: int | None = None
    relays: list[int] = []
    while True:
        arrival = await receive(ws)
        if arrival.kind == "agent_response_chunk":
            data = arrival.message["data"]
            if data["chunk_index"] != len(relays) + 1:
                raise BenchError(f"chunk {data['chunk_index']} after {len(relays)}")
            first = arrival.perf_ns if first is None else first
            relays.append(arrival.wall_ns - int(data["metadata"]["sent_ns"]))
        elif arrival.kind == "agent_response_complete":
            break
        elif arrival.kind == "error":
            raise BenchError(f"the query failed: {arrival.message['data']}")
    if first is None or len(relays) != chunks:
        raise BenchError(f"expected {chunks} chunks, got {len(relays)}")
    return QueryTiming(first - started, arrival.perf_ns - started, tuple(relays))


async def publish_round_trip(
    publisher: aioredis.Redis, pubsub: aioredis.client.PubSub, channel: str
) -> int:
    """Nanoseconds from one PUBLISH on ``channel`` to its receipt by ``pubsub``."""

    async def received() -> int:
        if await pubsub.get_message(timeout=RECEIVE_TIMEOUT) is None:
            raise BenchError("the subscriber received nothing")
        return time.perf_counter_ns()

    started = time.perf_counter_ns()
    arrived, _ = await asyncio.gather(
        received(), publisher.publish(channel, REDIS_PAYLOAD)
    )
    return arrived - started


async def tap_chunk_relays(pubsub: aioredis.client.PubSub, timings: list[int]) -> None:
    """Append the relay time of each chunk ``pubsub`` receives to ``timings``.

    It runs until cancelled: the caller owns the task and ``pubsub``.
    """
    while True:
        message = await pubsub.get_message(timeout=None)
        arrived = time.time_ns()
        if message is None or message["type"] != "pmessage":
            continue
        for event in StreamEvent.from_message(message["data"]):
            if event.kind == "chunk":
                timings.append(arrived - int(event.data["metadata"]["sent_ns"]))
