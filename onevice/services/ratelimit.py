"""Counting requests in Redis so a limit holds across processes.

One Lua script per decision: the count and its window are read and written in
one step, so two web processes cannot both let the last allowed request through.
"""

from __future__ import annotations

import dataclasses

import redis.asyncio as aioredis

_FIXED_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
return {count, ttl}
"""


@dataclasses.dataclass(frozen=True)
class Decision:
    """Whether a request may go on, and when to retry if not."""

    allowed: bool
    count: int
    limit: int
    retry_after: int


class FixedWindowLimiter:
    """At most ``limit`` hits per key in each window of ``window_seconds``."""

    def __init__(self, client: aioredis.Redis, *, window_seconds: int = 60):
        self.window_seconds = window_seconds
        self._script = client.register_script(_FIXED_WINDOW)

    async def hit(self, key: str, limit: int) -> Decision:
        """Count one hit on ``key`` and decide."""
        count, ttl = await self._script(
            keys=[f"onevice:ratelimit:{key}"], args=[self.window_seconds]
        )
        return Decision(
            allowed=int(count) <= limit,
            count=int(count),
            limit=limit,
            retry_after=max(1, int(ttl)),
        )
