"""How many samples a bench run takes of each measure: a full plan and a quick one."""

from __future__ import annotations

import dataclasses
from typing import Final


@dataclasses.dataclass(frozen=True, kw_only=True)
class Plan:
    """How many samples of each measure to take."""

    redis_samples: int = 2000
    socket_opens: int = 300
    pings: int = 1000
    warmup_queries: int = 10
    sequential_queries: int = 200
    throughput_queries: int = 1000
    concurrency: int = 50
    chunks: int = 20
    #: Gap between chunks in the one-at-a-time phases, so that each chunk
    #: travels alone and its relay time is not time spent queued behind its
    #: siblings (the throughput phase streams with no gap).
    pace_ms: int = 2


QUICK_PLAN: Final = Plan(
    redis_samples=300,
    socket_opens=50,
    pings=200,
    warmup_queries=3,
    sequential_queries=30,
    throughput_queries=100,
)
