"""The chunk bus: one Redis stream per query as replay buffer, plus live fan-out.

Events of a query (stage changes, chunks, the final outcome) are appended, one
or a burst at a time, by one Lua script that, atomically:

- refuses writes from an attempt older than the newest one (a worker presumed
  dead that comes back cannot interleave with its replacement),
- refuses anything after the final event, and non-final events once a cancel
  was requested (that is how the agent loop learns of a cancel for free),
- numbers the events, appends them to the stream and publishes them on the
  query's channel as one message (one line per event), and refreshes the TTL
  of both keys.

Each event's stored body also holds ``published_at``, the publisher's clock
(seconds since the epoch) when it went to Redis, which readers use to time the
relay; clients never see it.

Event ids are ``"<chunk_index>-<n>"``: a chunk gets ``k-0`` where ``k`` is its
``chunk_index`` (1, 2, 3, … without gaps); any other event after chunk ``k`` gets
``k-1``, ``k-2`` …. Ids are valid Redis stream ids that only grow, so resuming
after chunk ``k`` is ``XRANGE (k-0 +``, and a reader that has seen id ``x``
drops anything ``<= x``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Sequence
from typing import Any, Final, Literal

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from onevice.base.errors import OneViceError

EventKind = Literal["typing", "chunk", "restarted", "complete", "failed", "cancelled"]
FINAL_KINDS: Final = frozenset({"complete", "failed", "cancelled"})

_APPEND = """
local meta, stream = KEYS[1], KEYS[2]
local attempt, ttl, channel = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local state = redis.call('HMGET', meta, 'attempt', 'chunk', 'sub', 'final', 'cancel')
local current = tonumber(state[1]) or 0
if attempt < current then
  return redis.error_reply('STALE attempt ' .. attempt .. ' superseded by ' .. current)
end
if state[4] then return redis.error_reply('FINAL query already ended') end
local chunk, sub = tonumber(state[2]) or 0, tonumber(state[3]) or 0
local ids, lines, final_id = {}, {}, nil
for i = 4, #ARGV, 3 do
  local kind, final, payload = ARGV[i], ARGV[i + 1] == '1', ARGV[i + 2]
  if final_id then return redis.error_reply('FINAL event before the end of a batch') end
  if state[5] and not final then return redis.error_reply('CANCELLED by request') end
  if kind == 'chunk' then chunk = chunk + 1; sub = 0 else sub = sub + 1 end
  local id = chunk .. '-' .. sub
  redis.call('XADD', stream, id, 'e', payload)
  ids[#ids + 1] = id
  lines[#lines + 1] = id .. ' ' .. payload
  if final then final_id = id end
end
redis.call('HSET', meta, 'attempt', attempt, 'chunk', chunk, 'sub', sub)
if final_id then redis.call('HSET', meta, 'final', final_id) end
redis.call('EXPIRE', stream, ttl)
redis.call('EXPIRE', meta, ttl)
redis.call('PUBLISH', channel, table.concat(lines, '\\n'))
return ids
"""


class BusError(OneViceError):
    """The bus refused an append."""


class StaleAttempt(BusError):
    """A newer attempt owns the query; this worker must stop writing."""


class QueryAlreadyFinal(BusError):
    """The query's final event was already written."""


class CancelRequested(BusError):
    """A cancel was requested; the agent must stop at this step."""


def events_key(query_id: str) -> str:
    return f"onevice:query:{{{query_id}}}:events"


def meta_key(query_id: str) -> str:
    return f"onevice:query:{{{query_id}}}:meta"


def channel_name(query_id: str) -> str:
    return f"onevice:query:{{{query_id}}}:live"


def query_id_of_channel(channel: str) -> str:
    return channel[channel.index("{") + 1 : channel.index("}")]


#: Each part of an event id is half of a Redis stream id (an unsigned 64-bit
#: number); kept to the signed range, far past any real stream, so that an
#: exclusive range after it is still a valid Redis range.
MAX_ID_PART: Final = 2**63 - 1


@dataclasses.dataclass(frozen=True, order=True)
class EventId:
    """A position in a query's stream: ``chunk`` events so far, ``sub`` after it."""

    chunk: int
    sub: int

    @classmethod
    def parse(cls, raw: str) -> EventId:
        """Parse ``"k-n"``, or a bare ``"k"`` meaning "chunk k itself"."""
        head, _, tail = raw.partition("-")
        chunk, sub = int(head), int(tail or 0)
        if not (0 <= chunk <= MAX_ID_PART and 0 <= sub <= MAX_ID_PART):
            raise ValueError(f"event id out of range: {raw!r}")
        return cls(chunk, sub)

    def __str__(self) -> str:
        return f"{self.chunk}-{self.sub}"


@dataclasses.dataclass(frozen=True)
class StreamEvent:
    """One event of a query's stream; ``live`` if it came over the channel."""

    id: EventId
    kind: EventKind
    data: dict[str, Any]
    live: bool = dataclasses.field(default=False, compare=False)

    @property
    def is_final(self) -> bool:
        return self.kind in FINAL_KINDS

    @property
    def chunk_index(self) -> int:
        """The chunk this event is, or the last chunk before it."""
        return self.id.chunk

    @property
    def published_at(self) -> float | None:
        """When the event was published (epoch seconds), if it says."""
        value = self.data.get("published_at")
        return float(value) if isinstance(value, int | float) else None

    @classmethod
    def decode(
        cls, raw_id: str, payload: bytes | str, *, live: bool = False
    ) -> StreamEvent:
        body = orjson.loads(payload)
        kind = body.pop("kind")
        return cls(EventId.parse(raw_id), kind, body, live)

    @classmethod
    def from_message(cls, message: bytes) -> list[StreamEvent]:
        """Decode a live message: one ``"<id> <json>"`` line per event."""
        events = []
        for line in message.split(b"\n"):
            raw_id, _, payload = line.partition(b" ")
            events.append(cls.decode(raw_id.decode(), payload, live=True))
        return events


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class ChunkBus:
    """Appends, replays and cancels query event streams in Redis."""

    def __init__(self, client: aioredis.Redis, *, ttl_seconds: int):
        self.client = client
        self.ttl_seconds = ttl_seconds
        self._append = client.register_script(_APPEND)

    async def append(
        self, query_id: str, attempt: int, kind: EventKind, data: dict[str, Any]
    ) -> StreamEvent:
        """Append one event for ``attempt`` and publish it; return it with its id."""
        return (await self.append_many(query_id, attempt, [(kind, data)]))[0]

    async def append_many(
        self,
        query_id: str,
        attempt: int,
        events: Sequence[tuple[EventKind, dict[str, Any]]],
    ) -> list[StreamEvent]:
        """Append a burst of events in one round trip; all or none are written.

        An event's ``ts`` defaults to now; pass one to keep when it happened.
        """
        now = now_iso()
        published_at = time.time()
        args: list[Any] = [attempt, self.ttl_seconds, channel_name(query_id)]
        payloads = []
        for kind, data in events:
            body = {"kind": kind, "ts": now, **data, "published_at": published_at}
            payload = orjson.dumps(body)
            payloads.append(payload)
            args += [kind, "1" if kind in FINAL_KINDS else "0", payload]
        try:
            raw_ids = await self._append(
                keys=[meta_key(query_id), events_key(query_id)], args=args
            )
        except ResponseError as exc:
            raise _bus_error(exc) from exc
        return [
            StreamEvent.decode(_text(raw_id), payload)
            for raw_id, payload in zip(raw_ids, payloads, strict=True)
        ]

    async def replay(self, query_id: str, after: EventId | None) -> list[StreamEvent]:
        """Every stored event after ``after`` (all of them if None), in order."""
        start = "-" if after is None else f"({after}"
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await self.client.xrange(
            events_key(query_id), start, "+"
        )  # type: ignore[assignment]
        return [
            StreamEvent.decode(_text(entry_id), fields[b"e"])
            for entry_id, fields in entries
        ]

    async def request_cancel(self, query_id: str) -> None:
        """Flag the query so its next append (the agent's next step) fails."""
        key = meta_key(query_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, "cancel", "1")
            pipe.expire(key, self.ttl_seconds)
            await pipe.execute()

    async def cancel_requested(self, query_id: str) -> bool:
        return bool(await self.client.hexists(meta_key(query_id), "cancel"))

    async def last_chunk(self, query_id: str) -> int:
        """How many chunks the query has streamed so far (over all attempts)."""
        raw = await self.client.hget(meta_key(query_id), "chunk")
        return int(raw) if raw else 0

    async def has_final(self, query_id: str) -> bool:
        return bool(await self.client.hexists(meta_key(query_id), "final"))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bus_error(exc: ResponseError) -> BusError:
    message = str(exc)
    if message.startswith("STALE"):
        return StaleAttempt(message)
    if message.startswith("FINAL"):
        return QueryAlreadyFinal(message)
    if message.startswith("CANCELLED"):
        return CancelRequested(message)
    return BusError(message)
