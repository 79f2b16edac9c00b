"""End-to-end latency and throughput of the query pipeline, measured in one run.

The bench starts its own stack under a temporary directory: embedded PostgreSQL
and Redis, one Celery worker process and one web process (``python -m web``),
all on 127.0.0.1 and free ports, all stopped by pid at the end. It then measures,
with the ``bench_stream`` agent of :mod:`bench.agents` (no model, no delay):

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

Usage: ``python -m bench.pipeline [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any, Final, Self

import aiohttp
import orjson
import psutil
import redis.asyncio as aioredis

from onevice.base.settings import Settings
from onevice.identity.tokens import TokenIssuer
from onevice.services.bus import StreamEvent, channel_name
from onevice.services.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from onevice.storage.db import migrate

ROOT: Final = Path(__file__).resolve().parent.parent
NS_PER_MS: Final = 1_000_000
RECEIVE_TIMEOUT: Final = 30.0
START_TIMEOUT: Final = 60.0
STOP_GRACE_SECONDS: Final = 20.0
ROLE: Final = "Leadership"
#: The key of machine-wide busy time in :func:`cpu_seconds`.
MACHINE: Final = "machine"
#: A chunk event of ``bench_stream`` as the worker publishes it is this long.
REDIS_PAYLOAD: Final = b"1-0 " + b"x" * 202
_PR_SET_PDEATHSIG: Final = 1


class BenchError(Exception):
    """The stack did not start, or answered something the bench did not expect."""


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


# -- the stack ----------------------------------------------------------------


def _die_with_bench() -> None:
    # A bench killed with SIGKILL cannot stop its children: the kernel then
    # sends them SIGTERM, as it does for the embedded servers.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(
            _PR_SET_PDEATHSIG, signal.SIGTERM
        )


class Child:
    """A server process of the bench: own session, log file, stopped by pid."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_bench,
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within the grace period."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def check_alive(self) -> None:
        """Raise BenchError with the end of its log if the process has exited."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise BenchError(
                f"{self.name} exited with {self.process.returncode}:\n"
                f"{tail(self.log_path)}"
            )


@dataclasses.dataclass(frozen=True)
class Stack:
    """The running stack as the measures see it."""

    settings: Settings
    port: int
    issuer: TokenIssuer
    pids: dict[str, int]

    def ws_url(self, sub: str) -> str:
        """The socket URL with a fresh token for user ``sub``."""
        token = self.issuer.mint(role=ROLE, sub=sub)
        return f"ws://127.0.0.1:{self.port}/ws?token={token}"


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, or nothing if it is unreadable."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def bench_settings(
    root: Path, plan: Plan, database_url: str, redis_url: str
) -> Settings:
    """Settings of the stack: production-like, with no per-user query cap."""
    return Settings(
        data_dir=root / "data",
        database_url=database_url,
        redis_url=redis_url,
        agent_modules=("bench.agents",),
        worker_concurrency=plan.concurrency,
        max_concurrent_queries=1000,
        query_time_limit_seconds=60.0,
        visibility_timeout_seconds=120.0,
        log_format="json",
    )


def child_environment(settings: Settings, port: int) -> dict[str, str]:
    """The environment of a worker or web process acting with ``settings``."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ONEVICE_", "NEO4J_"))
    }
    return inherited | {
        "ONEVICE_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.require_database_url(),
        "REDIS_URL": settings.require_redis_url(),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ONEVICE_QUERY_TIME_LIMIT_SECONDS": str(settings.query_time_limit_seconds),
        "ONEVICE_VISIBILITY_TIMEOUT_SECONDS": str(settings.visibility_timeout_seconds),
        "ONEVICE_MAX_CONCURRENT_QUERIES": str(settings.max_concurrent_queries),
        "ONEVICE_AGENT_MODULES": ",".join(settings.agent_modules),
        "ONEVICE_WORKER_CONCURRENCY": str(settings.worker_concurrency),
        "ONEVICE_LOG_FORMAT": settings.log_format,
        "ONEVICE_LOG_LEVEL": settings.log_level,
        "PYTHONPATH": str(ROOT),
    }


def worker_argv(settings: Settings) -> list[str]:
    """The Procfile's worker command, with this interpreter."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.app",
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(settings.worker_concurrency),
        "--hostname",
        f"bench-{uuid.uuid4().hex[:6]}@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
        "-E",
    ]


async def wait_for_health(port: int, children: Sequence[Child]) -> None:
    """Return once ``/health`` answers 200: database, Redis and a worker are up."""
    url = f"http://127.0.0.1:{port}/health"
    async with aiohttp.ClientSession() as session, asyncio.timeout(START_TIMEOUT):
        while True:
            for child in children:
                child.check_alive()
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)


def start_children(
    owned: contextlib.ExitStack, settings: Settings, root: Path
) -> tuple[Child, Child, int]:
    """Start the worker and the web process, owned by ``owned``; return the port."""
    port = free_port()
    worker = Child(
        "worker",
        worker_argv(settings),
        child_environment(settings, port=0),
        root / "worker.log",
    )
    web = Child(
        "web",
        [sys.executable, "-m", "web"],
        child_environment(settings, port),
        root / "web.log",
    )
    return owned.enter_context(worker), owned.enter_context(web), port


@contextlib.asynccontextmanager
async def running_stack(root: Path, plan: Plan) -> AsyncIterator[Stack]:
    """PostgreSQL, Redis, a worker and a web process under ``root``, then stopped."""
    with contextlib.ExitStack() as owned:
        postgres = owned.enter_context(EmbeddedPostgres(root / "pg", durable=False))
        redis_server = owned.enter_context(EmbeddedRedis(root / "redis", durable=False))
        await migrate(postgres.url)
        settings = bench_settings(root, plan, postgres.url, redis_server.url)
        # The signing key is created here, before the web process reads it.
        issuer = TokenIssuer.from_settings(settings)
        worker, web, port = start_children(owned, settings, root)
        await wait_for_health(port, (worker, web))
        pids = {
            "web": web.pid,
            "worker": worker.pid,
            "redis": redis_server.pid or 0,
            "postgres": postgres.pid or 0,
            "bench": os.getpid(),
        }
        yield Stack(settings, port, issuer, pids)


# -- statistics -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Latency:
    """The samples of one measure, in nanoseconds."""

    label: str
    samples: tuple[int, ...]

    @classmethod
    def of(cls, label: str, samples: Iterable[int]) -> Latency:
        return cls(label, tuple(sorted(samples)))

    def ms(self, percent: float) -> float:
        """The nearest-rank percentile, in milliseconds."""
        if not self.samples:
            return float("nan")
        rank = math.ceil(len(self.samples) * percent / 100)
        return self.samples[min(max(rank, 1), len(self.samples)) - 1] / NS_PER_MS

    def row(self) -> str:
        cells = "".join(f"{self.ms(p):>10.3f}" for p in (50, 95, 99))
        return f"{self.label:<46}{len(self.samples):>7}{cells}"


@dataclasses.dataclass(frozen=True)
class Throughput:
    """Completed queries over the wall time of a closed-loop run."""

    queries: int
    concurrency: int
    seconds: float
    cpu_seconds: dict[str, float]

    @property
    def per_second(self) -> float:
        return self.queries / self.seconds


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time of each named process (and its children) and of the machine."""
    used = {name: _process_cpu(pid) for name, pid in pids.items()}
    machine = psutil.cpu_times()
    used[MACHINE] = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
    return used


def _process_cpu(pid: int) -> float:
    try:
        process = psutil.Process(pid)
        # Every server is a child of the bench: count the bench on its own.
        family = [process]
        if pid != os.getpid():
            family += process.children(recursive=True)
        return sum(p.cpu_times().user + p.cpu_times().system for p in family)
    except psutil.Error:
        return 0.0


# -- the client side ------------------------------------------------------------


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
            timings.append(await _round_trip(publisher, pubsub, channel))
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await publisher.aclose()
        await subscriber.aclose()
    label = f", {pace_ms} ms apart" if pace_ms else ""
    return Latency.of(f"redis publish -> subscriber{label}", timings)


async def _round_trip(
    publisher: aioredis.Redis, pubsub: aioredis.client.PubSub, channel: str
) -> int:
    async def received() -> int:
        if await pubsub.get_message(timeout=RECEIVE_TIMEOUT) is None:
            raise BenchError("the subscriber received nothing")
        return time.perf_counter_ns()

    started = time.perf_counter_ns()
    arrived, _ = await asyncio.gather(
        received(), publisher.publish(channel, REDIS_PAYLOAD)
    )
    return arrived - started


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


async def _tap(pubsub: aioredis.client.PubSub, timings: list[int]) -> None:
    while True:
        message = await pubsub.get_message(timeout=None)
        arrived = time.time_ns()
        if message is None or message["type"] != "pmessage":
            continue
        for event in StreamEvent.from_message(message["data"]):
            if event.kind == "chunk":
                timings.append(arrived - int(event.data["metadata"]["sent_ns"]))


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
    reader = asyncio.create_task(_tap(pubsub, tapped))
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


@dataclasses.dataclass(frozen=True)
class Report:
    """Everything one run measured."""

    plan: Plan
    latencies: list[Latency]
    throughput: Throughput
    log_problems: dict[str, int]

    def latency(self, label: str) -> Latency:
        return next(item for item in self.latencies if item.label == label)


def query_latencies(timings: Sequence[QueryTiming], where: str) -> list[Latency]:
    """First chunk, completion and per-chunk relay of ``timings``."""
    return [
        Latency.of(
            f"submit -> first chunk ({where})", (t.first_chunk_ns for t in timings)
        ),
        Latency.of(f"submit -> complete ({where})", (t.complete_ns for t in timings)),
        Latency.of(
            f"chunk relay, worker -> client ({where})",
            (r for t in timings for r in t.relay_ns),
        ),
    ]


def log_problems(root: Path) -> dict[str, int]:
    """Count warning and error lines in the web and worker logs."""
    counts = {}
    for name in ("web", "worker"):
        path = root / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        counts[name] = sum(
            1
            for line in text.splitlines()
            if '"level":"warning"' in line or '"level":"error"' in line
        )
    return counts


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


# -- the report -------------------------------------------------------------------

#: The peer's completed runs per second at concurrency 50 (DESIGN.md).
PEER_RUNS_PER_SECOND: Final = (63.0, 126.0)


def target_lines(report: Report) -> list[str]:
    """Each DESIGN.md target with the figure measured against it."""
    paced = f"redis publish -> subscriber, {report.plan.pace_ms} ms apart"
    redis_p50 = report.latency(paced).ms(50)
    relay_p50 = report.latency("chunk relay, worker -> client (one at a time)").ms(50)
    first_p50 = report.latency("submit -> first chunk (one at a time)").ms(50)
    ping_p99 = report.latency("ping -> pong").ms(99)
    rate = report.throughput.per_second
    low, high = (3 * peer for peer in PEER_RUNS_PER_SECOND)
    checks = [
        (f"submit -> first chunk p50 {first_p50:.2f} ms < 20 ms", first_p50 < 20),
        (
            f"relay p50 {relay_p50:.3f} ms = {relay_p50 / redis_p50:.1f}x "
            f"redis round trip p50 {redis_p50:.3f} ms (both paced), <= 2x",
            relay_p50 <= 2 * redis_p50,
        ),
        (f"heartbeat p99 {ping_p99:.3f} ms < 2 ms", ping_p99 < 2),
        (f"{rate:.0f} queries/s >= 3x peer low ({low:.0f})", rate >= low),
        (f"{rate:.0f} queries/s >= 3x peer high ({high:.0f})", rate >= high),
    ]
    return [f"  {'met ' if ok else 'MISS'}  {text}" for text, ok in checks]


def cpu_shares(throughput: Throughput) -> str:
    """Each process's CPU over the run, and what other processes used meanwhile."""
    used = dict(throughput.cpu_seconds)
    machine = used.pop(MACHINE)
    used["others and kernel"] = max(0.0, machine - sum(used.values()))
    return ", ".join(
        f"{name} {seconds / throughput.seconds:.0%}" for name, seconds in used.items()
    )


def print_report(report: Report) -> None:
    """The figures of a run as a table, then the targets."""
    throughput = report.throughput
    print()
    print(f"{'measure':<46}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for latency in report.latencies:
        print(latency.row())
    print()
    print(
        f"throughput: {throughput.queries} queries x {report.plan.chunks} chunks, "
        f"{throughput.concurrency} in flight, in {throughput.seconds:.2f} s = "
        f"{throughput.per_second:.1f} completed queries/s"
    )
    print(f"CPU during the throughput run (100% = one core): {cpu_shares(throughput)}")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"warning/error lines in logs: {report.log_problems}")
    print("targets (DESIGN.md):")
    for line in target_lines(report):
        print(line)


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
