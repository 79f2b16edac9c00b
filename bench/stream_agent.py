"""Agents that exist only for benchmarks: they stream as fast as the bus allows.

Loaded by the web app and the worker through
``ONEVICE_AGENT_MODULES=bench.stream_agent``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

from onevice.agents.base import Agent, AgentResult, AgentRun
from onevice.agents.registry import AgentRegistry

DEFAULT_CHUNKS: Final = 20
CHUNK_CHARS: Final = 40


def chunk_count(run: AgentRun) -> int:
    """The ``options.chunks`` of the request, or the default when absent or bad."""
    options: Any = run.request.get("options") or {}
    value = options.get("chunks", DEFAULT_CHUNKS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return DEFAULT_CHUNKS
    return value


def pace_seconds(run: AgentRun) -> float:
    """The ``options.pace_ms`` gap between chunks, in seconds (0 when absent)."""
    options: Any = run.request.get("options") or {}
    value = options.get("pace_ms", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0.0
    return value / 1000


def chunk_text(index: int, chunks: int) -> str:
    """Chunk ``index`` of ``chunks``, padded to about the size of a model token run."""
    return f"Chunk {index} of {chunks} from the bench. ".ljust(CHUNK_CHARS, ".")


class StreamingBenchAgent(Agent):
    """Streams ``options.chunks`` chunks of 40 characters, ``options.pace_ms`` apart.

    Each chunk's metadata carries ``sent_ns``, the wall clock just before the
    chunk is appended, so a client on the same machine can time the relay.
    """

    name = "bench_stream"

    async def run(self, run: AgentRun) -> AgentResult:
        chunks = chunk_count(run)
        pace = pace_seconds(run)
        await run.stage("drafting", estimated_completion_ms=chunks)
        for index in range(1, chunks + 1):
            if pace:
                await asyncio.sleep(pace)
            await run.write(
                chunk_text(index, chunks), metadata={"sent_ns": time.time_ns()}
            )
        return AgentResult(
            body={"result": {"summary": f"{chunks} chunks"}},
            confidence_score=1.0,
            data_sources=("bench",),
        )


def register(registry: AgentRegistry) -> None:
    """Add the bench agents to ``registry``."""
    registry.register(StreamingBenchAgent())
