"""How fast the four product agents answer, with the built-in writer.

The bench starts its own stack (:mod:`bench.stack`: embedded PostgreSQL and
Redis with FalkorDB, one Celery worker, one web process, all on loopback and
stopped by pid), fills it as ``onevice seed`` does (the film graph and the
synthetic company), and then measures over WebSocket:

1. each agent alone, one query after another on one socket, with a request
   like the spec's example: submit to the first ``agent_typing`` (the query
   is running), submit to the first ``agent_response_chunk``, the gap between
   consecutive chunks, and submit to ``agent_response_complete``;
2. 50 agent queries in flight: closed-loop clients, each on its own socket and
   user, cycling through the requests; completed queries per second and the
   same latencies under that load.

No model is called: ``ANTHROPIC_API_KEY`` is not passed to the stack, so the
figures are what the agents' reads and the pipeline cost.

Usage: ``python -m bench.agents [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import os
import platform
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import aiohttp
import orjson

from bench.client import open_socket, receive
from bench.plan import Plan
from bench.report import Latency
from bench.stack import BenchError, Stack, cpu_seconds, log_problems, running_stack
from bench.stack import tail as log_tail
from onevice.data.seed import seed

#: One request per measured case: (label, agent, body without ``agent``).
REQUESTS: Final[tuple[tuple[str, str, dict[str, Any]], ...]] = (
    (
        "sales_intelligence (artist)",
        "sales_intelligence",
        {
            "query": "Research Juno Vale for an upcoming music video pitch",
            "context": {"project_type": "Music Video", "budget_range": "$100k-300k"},
            "options": {"depth": 2, "format": "detailed_brief"},
        },
    ),
    (
        "sales_intelligence (film director)",
        "sales_intelligence",
        {
            "query": "Research Ridley Scott for a commercial pitch",
            "options": {"depth": 2, "format": "detailed_brief"},
        },
    ),
    (
        "case_study",
        "case_study",
        {
            "query": "Find similar hip-hop music videos with a $100k-300k budget",
            "filters": {
                "project_type": "Music Video",
                "genre": "Hip-hop",
                "budget_range": "$100k-300k",
                "year_range": "2020-2026",
            },
            "options": {
                "max_results": 10,
                "similarity_threshold": 0.5,
                "include_creative_concepts": True,
            },
        },
    ),
    (
        "talent_discovery",
        "talent_discovery",
        {
            "query": "Find union directors with music video experience under $200k",
            "criteria": {
                "role": "Director",
                "union_status": "Union",
                "specialization": "Music Video",
                "max_budget": 200000,
                "availability": "next_30_days",
            },
            "options": {"include_portfolio": True, "max_results": 20},
        },
    ),
    (
        "bidding_support",
        "bidding_support",
        {
            "query": "Budget a 3-day music video shoot in Los Angeles",
            "project_details": {
                "type": "Music Video",
                "duration_days": 3,
                "location": "Los Angeles, CA",
                "union_status": "Union",
                "crew_size": "Medium",
                "equipment_level": "Premium",
                "performers": 2,
            },
            "options": {"include_union_rules": True, "include_risk_assessment": True},
        },
    ),
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentPlan:
    """How many samples to take."""

    warmup_queries: int = 3
    sequential_queries: int = 40
    concurrency: int = 50
    throughput_queries: int = 500


QUICK: Final = AgentPlan(sequential_queries=8, throughput_queries=100)


@dataclasses.dataclass(frozen=True)
class AgentTiming:
    """One agent query as its client saw it, in nanoseconds from the submit."""

    first_stage_ns: int
    first_chunk_ns: int
    complete_ns: int
    gaps_ns: tuple[int, ...]


def agent_frame(agent: str, body: dict[str, Any]) -> str:
    """An ``agent_query`` message for ``agent``."""
    return orjson.dumps(
        {
            "message_id": f"bench_{uuid.uuid4().hex}",
            "type": "agent_query",
            "data": {"agent": agent, **body},
        }
    ).decode()


async def timed_agent_query(
    ws: aiohttp.ClientWebSocketResponse, agent: str, body: dict[str, Any]
) -> AgentTiming:
    """Submit one query and read its events to the end, timing them."""
    started = time.perf_counter_ns()
    await ws.send_str(agent_frame(agent, body))
    stage: int | None = None
    chunks: list[int] = []
    while True:
        arrival = await receive(ws)
        if arrival.kind == "agent_typing" and stage is None:
            stage = arrival.perf_ns
        elif arrival.kind == "agent_response_chunk":
            chunks.append(arrival.perf_ns)
        elif arrival.kind == "agent_response_complete":
            break
        elif arrival.kind == "error":
            raise BenchError(f"the {agent} query failed: {arrival.message['data']}")
    if stage is None or not chunks:
        raise BenchError(f"the {agent} query streamed no stage or no chunk")
    return AgentTiming(
        first_stage_ns=stage - started,
        first_chunk_ns=chunks[0] - started,
        complete_ns=arrival.perf_ns - started,
        gaps_ns=tuple(b - a for a, b in itertools.pairwise(chunks)),
    )


def latencies(timings: Sequence[AgentTiming], where: str) -> list[Latency]:
    """The four figures of ``timings``, labelled with ``where``."""
    return [
        Latency.of(f"{where}: first stage", (t.first_stage_ns for t in timings)),
        Latency.of(f"{where}: first chunk", (t.first_chunk_ns for t in timings)),
        Latency.of(f"{where}: chunk interval", (g for t in timings for g in t.gaps_ns)),
        Latency.of(f"{where}: complete", (t.complete_ns for t in timings)),
    ]


async def one_agent(
    session: aiohttp.ClientSession,
    stack: Stack,
    plan: AgentPlan,
    case: tuple[str, str, dict[str, Any]],
) -> list[Latency]:
    """One case's queries one after another on one socket, after a warm-up."""
    label, agent, body = case
    ws = await open_socket(session, stack.ws_url(f"bench_{agent}"))
    try:
        for _ in range(plan.warmup_queries):
            await timed_agent_query(ws, agent, body)
        timings = [
            await timed_agent_query(ws, agent, body)
            for _ in range(plan.sequential_queries)
        ]
    finally:
        await ws.close()
    return latencies(timings, label)


async def _client_loop(
    ws: aiohttp.ClientWebSocketResponse, queries: int, first: int
) -> list[AgentTiming]:
    """``queries`` queries in a row, cycling through REQUESTS from ``first``."""
    timings = []
    for n in range(queries):
        _, agent, body = REQUESTS[(first + n) % len(REQUESTS)]
        timings.append(await timed_agent_query(ws, agent, body))
    return timings


@dataclasses.dataclass(frozen=True)
class Load:
    """The concurrent phase: completed queries over wall time, CPU meanwhile."""

    queries: int
    concurrency: int
    seconds: float
    cpu: dict[str, float]


async def concurrent_agents(
    session: aiohttp.ClientSession, stack: Stack, plan: AgentPlan
) -> tuple[Load, list[AgentTiming]]:
    """Closed loop: ``plan.concurrency`` clients, each on its own socket and user."""
    per_client = max(1, plan.throughput_queries // plan.concurrency)
    sockets = await asyncio.gather(
        *(
            open_socket(session, stack.ws_url(f"bench_agents_{index}"))
            for index in range(plan.concurrency)
        )
    )
    try:
        await asyncio.gather(*(_client_loop(ws, 1, i) for i, ws in enumerate(sockets)))
        before = cpu_seconds(stack.pids)
        started = time.perf_counter()
        per_socket = await asyncio.gather(
            *(_client_loop(ws, per_client, i) for i, ws in enumerate(sockets))
        )
        seconds = time.perf_counter() - started
        after = cpu_seconds(stack.pids)
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
    timings = [timing for client in per_socket for timing in client]
    cpu = {name: after[name] - before[name] for name in after}
    return Load(len(timings), plan.concurrency, seconds, cpu), timings


async def run(plan: AgentPlan, root: Path) -> tuple[list[Latency], Load]:
    """Start and seed the stack, measure, stop the stack."""
    stack_plan = Plan(concurrency=plan.concurrency)
    try:
        async with running_stack(root, stack_plan) as stack:
            print("seeding the film graph and the company data", flush=True)
            seeded = time.monotonic()
            await seed(stack.settings)
            print(f"  seeded in {time.monotonic() - seeded:.0f} s", flush=True)
            found: list[Latency] = []
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                for case in REQUESTS:
                    print(f"  measuring {case[0]} one at a time", flush=True)
                    found += await one_agent(session, stack, plan, case)
                print(f"  measuring {plan.concurrency} in flight", flush=True)
                load, timings = await concurrent_agents(session, stack, plan)
            found += latencies(timings, f"mixed, {plan.concurrency} in flight")
            problems = log_problems(root)
    except BaseException:
        for name in ("worker", "web"):
            print(f"--- end of {name}.log ---\n{log_tail(root / f'{name}.log')}")
        raise
    print(f"warning/error lines in logs: {problems}")
    return found, load


def print_report(found: Sequence[Latency], load: Load) -> None:
    """The figures as a table, then the spec's targets."""
    print()
    print(f"{'measure':<52}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for latency in found:
        cells = "".join(f"{latency.ms(p):>10.3f}" for p in (50, 95, 99))
        print(f"{latency.label:<52}{len(latency.samples):>6}{cells}")
    print()
    rate = load.queries / load.seconds
    print(
        f"{load.queries} agent queries, {load.concurrency} in flight, in "
        f"{load.seconds:.2f} s = {rate:.1f} completed queries/s"
    )
    cpu = ", ".join(
        f"{name} {seconds / load.seconds:.0%}" for name, seconds in load.cpu.items()
    )
    print(f"CPU meanwhile (100% = one core; machine = all processes): {cpu}")
    print("targets (spec §6.1), worst p95 of the one-at-a-time cases:")
    alone = [item for item in found if not item.label.startswith("mixed")]
    for what, limit in (
        ("first chunk", 1000.0),
        ("chunk interval", 100.0),
        ("complete", 2000.0),
    ):
        worst = max(item.ms(95) for item in alone if item.label.endswith(what))
        verdict = "met " if worst < limit else "MISS"
        print(f"  {verdict}  {what} p95 {worst:.1f} ms < {limit:.0f} ms")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the bench with the plan the arguments choose and print its report."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.agents",
        description="Time the four product agents end to end on a stack of its own.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="take few samples (a smoke run)"
    )
    plan = QUICK if parser.parse_args(argv).quick else AgentPlan()
    print(f"bench.agents: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(plan)
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="onevice-bench-agents-"))
    root.chmod(0o755)  # PostgreSQL runs as another user under root
    try:
        found, load = asyncio.run(run(plan, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_report(found, load)
    print(f"the run took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
