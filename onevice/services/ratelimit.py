"""Rate limits, counted in Redis so they hold across processes and instances.

Every limit is a bucket of the generic cell rate algorithm (GCRA): a rate per
minute and a burst, kept as one "theoretical arrival time" per key. A request is
checked against all the buckets that apply to it (the user's, the endpoint's)
by one Lua script that admits it only if every bucket has room, and then
charges them all: there is no read-then-write race between web processes.

The limits themselves are the tables below (spec §1.3 and §4.2), the one place
to change them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Final

import redis.asyncio as aioredis

from onevice.base.errors import RateLimited
from onevice.services.access import Viewer


@dataclasses.dataclass(frozen=True)
class RoleLimits:
    """spec §4.2 ``by_role``."""

    requests_per_minute: int
    concurrent_websocket: int
    query_complexity_max: int


ROLE_LIMITS: Final[Mapping[str, RoleLimits]] = {
    "Salesperson": RoleLimits(100, 2, 5),
    "Creative Director": RoleLimits(100, 2, 5),
    "Director": RoleLimits(200, 3, 8),
    "Leadership": RoleLimits(500, 5, 10),
}

#: spec §1.3: an organisation's plan caps the per-minute rate of its users.
PLAN_REQUESTS_PER_MINUTE: Final[Mapping[str, int]] = {
    "Standard": 100,
    "Premium": 500,
    "Enterprise": 2000,
}


@dataclasses.dataclass(frozen=True)
class EndpointLimit:
    """spec §4.2 ``by_endpoint``: a rate per user with a burst."""

    requests_per_minute: int
    burst: int


#: Route patterns (aiohttp's canonical form) to their limits.
ENDPOINT_LIMITS: Final[Mapping[str, EndpointLimit]] = {
    "/agents/{agent}/query": EndpointLimit(20, burst=5),
    "/projects": EndpointLimit(100, burst=20),
    "/projects/{project_id}": EndpointLimit(100, burst=20),
}

_GCRA = """
local now = tonumber(ARGV[1])
local worst_retry, tightest, tightest_left, tightest_reset = 0, 1, nil, 0
local tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allowed_at = new_tat - interval * burst
  if allowed_at > now then
    worst_retry = math.max(worst_retry, allowed_at - now)
  end
  local left = math.floor((now - allowed_at) / interval)
  if tightest_left == nil or left < tightest_left then
    tightest, tightest_left, tightest_reset = i, left, new_tat - now
  end
  tats[i] = new_tat
end
if worst_retry > 0 then
  return {0, worst_retry, tightest, 0, tightest_reset}
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], tats[i], 'PX', math.ceil(tats[i] - now) + 1000)
end
return {1, 0, tightest, tightest_left, tightest_reset}
"""


@dataclasses.dataclass(frozen=True)
class Bucket:
    """One limit applied to one caller: ``per_minute`` with ``burst`` at once."""

    key: str
    per_minute: int
    burst: int


@dataclasses.dataclass(frozen=True)
class Decision:
    """Whether a request may go on, and the figures of the tightest limit."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    retry_after: int

    def refusal(self, what: str) -> RateLimited:
        """The 429 of a refused decision: ``what`` was too frequent."""
        return RateLimited(
            f"Too many {what}; retry in {self.retry_after} s",
            retry_after=self.retry_after,
            details={"limit": self.limit, "window": "1 minute"},
            headers=self.headers(),
        )

    def headers(self) -> dict[str, str]:
        """The ``RateLimit-*`` response headers of this decision."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    """Checks and charges GCRA buckets in Redis, one script call per decision."""

    def __init__(self, client: aioredis.Redis):
        self._script = client.register_script(_GCRA)

    async def check(self, buckets: Sequence[Bucket]) -> Decision:
        """Admit and charge a request against every bucket, or refuse it."""
        now_ms = time.time() * 1000
        args: list[float] = [now_ms]
        for bucket in buckets:
            args += [60_000 / bucket.per_minute, bucket.burst]
        allowed, retry_ms, tightest, left, reset_ms = await self._script(
            keys=[f"onevice:rate:{{{b.key}}}" for b in buckets], args=args
        )
        bucket = buckets[int(tightest) - 1]
        return Decision(
            allowed=bool(allowed),
            limit=bucket.per_minute,
            remaining=max(0, int(left)),
            reset_seconds=max(0, round(float(reset_ms) / 1000)),
            retry_after=max(1, -(-int(float(retry_ms)) // 1000)),
        )


class Limits:
    """Which buckets apply to a viewer's request, from the tables above."""

    def __init__(self, org_plans: Mapping[str, str], default_plan: str):
        self.org_plans = dict(org_plans)
        self.default_plan = default_plan

    def per_minute(self, viewer: Viewer) -> int:
        """The viewer's rate: their role's, capped by their organisation's plan."""
        plan = self.org_plans.get(viewer.org_id, self.default_plan)
        return min(
            ROLE_LIMITS[viewer.role].requests_per_minute,
            PLAN_REQUESTS_PER_MINUTE[plan],
        )

    def for_request(self, viewer: Viewer, route: str | None) -> list[Bucket]:
        """The buckets of one REST request to ``route`` (a canonical pattern)."""
        rate = self.per_minute(viewer)
        buckets = [Bucket(f"user:{viewer.sub}", rate, rate)]
        endpoint = ENDPOINT_LIMITS.get(route or "")
        if endpoint is not None:
            buckets.append(
                Bucket(
                    f"user:{viewer.sub}:{route}",
                    endpoint.requests_per_minute,
                    endpoint.burst,
                )
            )
        return buckets

    def for_ws_message(self, viewer: Viewer) -> list[Bucket]:
        """The bucket of one WebSocket message."""
        rate = self.per_minute(viewer)
        return [Bucket(f"ws:{viewer.sub}", rate, rate)]


_TAKE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1] + ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


class SocketSlots:
    """Open WebSockets per user, counted across processes.

    Each socket holds a slot that expires unless renewed, so the slots of a
    process that died free themselves.
    """

    LEASE_MS: Final = 90_000

    def __init__(self, client: aioredis.Redis):
        self.client = client
        self._take = client.register_script(_TAKE_SLOT)

    @staticmethod
    def _key(viewer: Viewer) -> str:
        return f"onevice:sockets:{{{viewer.sub}}}"

    async def take(self, viewer: Viewer, socket_id: str, limit: int) -> bool:
        """Hold a slot for ``socket_id``; False if the user has ``limit`` open."""
        taken = await self._take(
            keys=[self._key(viewer)],
            args=[int(time.time() * 1000), self.LEASE_MS, socket_id, limit],
        )
        return bool(taken)

    async def renew(self, viewer: Viewer, socket_id: str) -> None:
        expires = int(time.time() * 1000) + self.LEASE_MS
        await self.client.zadd(self._key(viewer), {socket_id: expires}, xx=True)

    async def release(self, viewer: Viewer, socket_id: str) -> None:
        await self.client.zrem(self._key(viewer), socket_id)
