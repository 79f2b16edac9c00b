"""End-to-end latency and throughput of the query pipeline, measured in one run.

The bench starts its own stack under a temporary directory: embedded PostgreSQL
and Redis, one Celery worker process and one web process (``python -m web``),
all on 127.0.0.1 and free ports, all stopped by pid at the end. It then measures,
with the ``bench_stream`` agent of :mod:`bench.stream_agent` (no model, no delay):

1. a bare Redis round trip: PUBLISH on one connection, receipt on another;
2. opening a WebSocket, from ``ws_connect`` to the ``connection`` greeting;
3. heartbeat: ``ping`` to ``pong`` on an idle socket;
4. sequential queries on one socket: submit to first chunk, submit to complete,
   and the relay time of every chunk (worker wall clock just before the append,
   carried in the chunk's metadata, to the client's wall clock on arrival);
   then the same again while the bench also subscribes to the chunk channels,
   which splits the relay time into its Redis part and its web-tier part;
5. throughput: closed-loop clients, each on its own socket and user, keeping
   50 queries of 20 chunks in flight; completed queries per second, the CPU
   each process used meanwhile, and the first-chunk and relay times under load.

This module holds the measures and the entry point; the stack is started in
:mod:`bench.stack`, the client helpers are in :mod:`bench.client` and the
figures and their printing in :mod:`bench.report`.

Usage: ``python -m bench.pipeline [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import platform
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from bench.client import (
    QueryTiming,
    open_socket,
    publish_round_trip,
    receive,
    tap_chunk_relays,
    timed_query,
)
from bench.plan import QUICK_PLAN, Plan
from bench.report import Latency, Report, Throughput, print_report, query_latencies
from bench.stack import (
    BenchError,
    Stack,
    cpu_seconds,
    log_problems,
    running_stack,
    tail,
)
from onevice.services.bus import channel_name

# -- the measures -----------------------------------------------------------------


async def redis_round_trips(redis_url: str, samples: int, pace_ms: int = 0) -> Latency:
    """PUBLISH on one connection to receipt by a subscriber on another.

    With ``pace_ms`` the samples are that far apart, as the paced chunks of the
    one-at-a-time phases are: processes that idle between messages wake up
    more slowly than busy ones, and the relay is compared like with like.
    """
    publisher = aioredis.Redis.from_url(redis_url)
    subscriber = aioredis.Redis.from_url(redis_url)
    pubsub = subscriber.pubsub()
    channel = f"bench:{uuid.uuid4().hex}"
    try:
        await pubsub.subscribe(channel)
        await pubsub.get_message(timeout=5.0)  # the subscribe confirmation
        timings = []
        for _ in range(samples):
            if pace_ms:
                await asyncio.sleep(pace_ms / 1000)
            timings.append(await publish_round_trip(publisher, pubsub, channel))
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await publisher.aclose()
        await subscriber.aclose()
    label = f", {pace_ms} ms apart" if pace_ms else ""
    return Latency.of(f"redis publish -> subscriber{label}", timings)


async def socket_opens(
    session: aiohttp.ClientSession, stack: Stack, count: int
) -> Latency:
    """From ``ws_connect`` to the greeting, one socket after another."""
    url = stack.ws_url("bench_sockets")
    timings = []
    for _ in range(count):
        started = time.perf_counter_ns()
        ws = await open_socket(session, url)
        timings.append(time.perf_counter_ns() - started)
        await ws.close()
    return Latency.of("ws open -> greeting", timings)


async def heartbeats(
    session: aiohttp.ClientSession, stack: Stack, count: int
) -> Latency:
    """``ping`` to ``pong`` on an idle socket, one after another."""
    ws = await open_socket(session, stack.ws_url("bench_pings"))
    timings = []
    try:
        for index in range(count):
            started = time.perf_counter_ns()
            await ws.send_str(f'{{"type":"ping","message_id":"ping_{index}"}}')
            pong = await receive(ws)
            if pong.kind != "pong":
                raise BenchError(f"expected a pong, got {pong.message}")
            timings.append(pong.perf_ns - started)
    finally:
        await ws.close()
    return Latency.of("ping -> pong", timings)


async def sequential_queries(
    session: aiohttp.ClientSession, stack: Stack, plan: Plan
) -> list[QueryTiming]:
    """Queries one after another on one socket, after a few untimed ones."""
    ws = await open_socket(session, stack.ws_url("bench_sequential"))
    try:
        for _ in range(plan.warmup_queries):
            await timed_query(ws, plan.chunks, plan.pace_ms)
        return [
            await timed_query(ws, plan.chunks, plan.pace_ms)
            for _ in range(plan.sequential_queries)
        ]
    finally:
        await ws.close()


async def tapped_queries(
    session: aiohttp.ClientSession, stack: Stack, plan: Plan
) -> list[Latency]:
    """Queries one at a time while the bench also subscribes to every live channel.

    The tap receives each chunk where the web tier does, so the two relay times
    of this phase split the relay into worker -> Redis -> subscriber and what
    the web tier adds after that.
    """
    client = aioredis.Redis.from_url(stack.settings.require_redis_url())
    pubsub = client.pubsub()
    tapped: list[int] = []
    await pubsub.psubscribe(channel_name("*"))
    reader = asyncio.create_task(tap_chunk_relays(pubsub, tapped))
    try:
        tap_plan = dataclasses.replace(plan, warmup_queries=0)
        relayed = await sequential_queries(session, stack, tap_plan)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()
    return [
        Latency.of("chunk, worker -> Redis subscriber (tapped)", tapped),
        Latency.of(
            "chunk relay, worker -> client (tapped)",
            (r for t in relayed for r in t.relay_ns),
        ),
    ]


async def _client_loop(
    ws: aiohttp.ClientWebSocketResponse, queries: int, chunks: int
) -> list[QueryTiming]:
    return [await timed_query(ws, chunks) for _ in range(queries)]


async def concurrent_queries(
    session: aiohttp.ClientSession, stack: Stack, plan: Plan
) -> tuple[Throughput, list[QueryTiming]]:
    """Closed loop: each client sends its next query when the last completes."""
    per_client = max(1, plan.throughput_queries // plan.concurrency)
    sockets = await asyncio.gather(
        *(
            open_socket(session, stack.ws_url(f"bench_load_{index}"))
            for index in range(plan.concurrency)
        )
    )
    try:
        # One untimed round opens the worker's pool connections.
        await asyncio.gather(*(_client_loop(ws, 1, plan.chunks) for ws in sockets))
        cpu_before = cpu_seconds(stack.pids)
        started = time.perf_counter()
        per_socket = await asyncio.gather(
            *(_client_loop(ws, per_client, plan.chunks) for ws in sockets)
        )
        seconds = time.perf_counter() - started
        cpu_after = cpu_seconds(stack.pids)
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
    timings = [timing for client in per_socket for timing in client]
    cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_after}
    return Throughput(len(timings), plan.concurrency, seconds, cpu), timings


# -- the run --------------------------------------------------------------------


async def measure(stack: Stack, plan: Plan) -> tuple[list[Latency], Throughput]:
    """Run every measure against ``stack``, saying which one is running."""
    redis_url = stack.settings.require_redis_url()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        progress("bare Redis round trips")
        latencies = [
            await redis_round_trips(redis_url, plan.redis_samples),
            await redis_round_trips(redis_url, plan.redis_samples, plan.pace_ms),
        ]
        progress("socket opens")
        latencies.append(await socket_opens(session, stack, plan.socket_opens))
        progress("heartbeats")
        latencies.append(await heartbeats(session, stack, plan.pings))
        progress("queries one at a time")
        sequential = await sequential_queries(session, stack, plan)
        latencies += query_latencies(sequential, "one at a time")
        progress("queries one at a time, with a Redis tap")
        latencies += await tapped_queries(session, stack, plan)
        progress(f"queries {plan.concurrency} at a time")
        throughput, loaded = await concurrent_queries(session, stack, plan)
        latencies += query_latencies(loaded, f"{plan.concurrency} in flight")
    return latencies, throughput


def progress(step: str) -> None:
    """Say which measure runs now (a run takes a while)."""
    print(f"  measuring {step}", flush=True)


async def run(plan: Plan, root: Path) -> Report:
    """Start the stack under ``root``, measure, stop the stack."""
    try:
        async with running_stack(root, plan) as stack:
            print(f"stack up: web :{stack.port}, worker pid {stack.pids['worker']}")
            latencies, throughput = await measure(stack, plan)
    except BaseException:
        for name in ("worker", "web"):
            print(f"--- end of {name}.log ---\n{tail(root / f'{name}.log')}")
        raise
    return Report(plan, latencies, throughput, log_problems(root))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline",
        description="Measure the query pipeline end to end on a stack of its own.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="take few samples (a smoke run of about half a minute)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the bench with the plan the arguments choose and print its report."""
    plan = QUICK_PLAN if parse_args(argv).quick else Plan()
    print(
        f"bench.pipeline: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{plan}"
    )
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="onevice-bench-"))
    root.chmod(0o755)  # PostgreSQL runs as another user under root
    try:
        report = asyncio.run(run(plan, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_report(report)
    print(f"the run took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
