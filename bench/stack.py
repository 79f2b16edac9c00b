"""The stack a bench run measures, started under a directory of its own.

Embedded PostgreSQL and Redis, one Celery worker process and one web process
(``python -m web``), all on 127.0.0.1 and free ports, all stopped by pid. The
module also reads what those processes leave behind: their CPU time and logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Final, Self

import aiohttp
import psutil

from bench.plan import Plan
from onevice.base.settings import Settings
from onevice.identity.tokens import TokenIssuer
from onevice.services import queue
from onevice.services.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from onevice.storage.db import migrate

ROOT: Final = Path(__file__).resolve().parent.parent
START_TIMEOUT: Final = 60.0
STOP_GRACE_SECONDS: Final = 20.0
ROLE: Final = "Leadership"
#: The key of machine-wide busy time in :func:`cpu_seconds`.
MACHINE: Final = "machine"
_PR_SET_PDEATHSIG: Final = 1


class BenchError(Exception):
    """The stack did not start, or answered something the bench did not expect."""


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
        agent_modules=("bench.stream_agent",),
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
        if not key.startswith(("ONEVICE_", "NEO4J_", "ANTHROPIC_", "LANGSMITH_"))
    }
    served = dataclasses.replace(settings, host="127.0.0.1", port=port)
    return inherited | served.to_environ() | {"PYTHONPATH": str(ROOT)}


def worker_argv(settings: Settings) -> list[str]:
    """The Procfile's worker command, with this interpreter."""
    return queue.worker_command(
        sys.executable,
        concurrency=settings.worker_concurrency,
        name=f"bench-{uuid.uuid4().hex[:6]}",
    )


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
