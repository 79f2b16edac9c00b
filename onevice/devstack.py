"""``onevice dev``: the whole stack on one machine, on embedded defaults.

Starts embedded PostgreSQL and redis-server+FalkorDB (unless ``DATABASE_URL`` /
``REDIS_URL`` are set), applies the schema, then runs the web tier, one Celery
worker and Flower as child processes, and prints the base URL with one access
token per role. SIGINT or SIGTERM stops the children, then the servers, in that
order. A child that dies is restarted (a killed worker's queries are taken over
by its replacement); a lock file under the data dir keeps a second stack away.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import IO

from onevice.agents.registry import load_registry
from onevice.base.settings import Settings
from onevice.data.seed import seed
from onevice.identity.tokens import TokenIssuer
from onevice.services import queue
from onevice.services.access import ROLES
from onevice.services.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from onevice.storage.db import migrate

DEV_TOKEN_TTL = 24 * 3600
_STOP_GRACE_SECONDS = 20.0
_MAX_RESTARTS = 5
_RESTART_WINDOW_SECONDS = 60.0


class DevStackError(RuntimeError):
    """The dev stack cannot start; the message says why and what to do."""


@contextlib.contextmanager
def single_instance(data_dir: Path, url: str) -> Iterator[None]:
    """Hold the dev lock for the data dir, or explain who holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "dev.lock"
    handle: IO[str] = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise DevStackError(
            f"a OneVice dev stack is already running ({holder}) with data dir "
            f"{data_dir}. Use that one, or stop it with Ctrl-C in its terminal."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}, {url}")
    handle.flush()
    try:
        yield
    finally:
        handle.seek(0)
        handle.truncate()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the web server will: connections in TIME_WAIT do not block a bind.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


class DevStack:
    """The running stack: servers, children, and the order they stop in."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.servers: list[EmbeddedPostgres | EmbeddedRedis] = []
        self.flower_port = free_port()
        self.commands: dict[str, list[str]] = {}
        self.env: dict[str, str] = {}

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def run(self) -> int:
        settings = self.settings
        if not _port_is_free(settings.host, settings.port):
            raise DevStackError(
                f"port {settings.port} on {settings.host} is in use; "
                "set PORT to a free one (PORT=8081 make dev)"
            )
        previous = {
            sig: signal.signal(sig, _raise_stop)
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            with single_instance(settings.data_dir, self.base_url):
                env = self._start_servers()
                self._start_children(env)
                self._wait_healthy()
                self._print_banner()
                return self._watch()
        except _Stop as stop:
            print(f"\nonevice dev: {stop}, stopping…", file=sys.stderr)
            return 0
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start_servers(self) -> dict[str, str]:
        """Start what is not given; the children's environment, with their URLs."""
        settings = self.settings
        database_url = settings.database_url
        if not database_url:
            postgres = EmbeddedPostgres(settings.data_dir / "postgres", durable=True)
            self.servers.append(postgres)
            database_url = postgres.start()
            _say(f"PostgreSQL  {database_url} (embedded, pid {postgres.pid})")
        redis_url = settings.redis_url
        if not redis_url:
            redis_server = EmbeddedRedis(settings.data_dir / "redis", durable=True)
            self.servers.append(redis_server)
            redis_url = redis_server.start()
            _say(
                f"Redis       {redis_url} (embedded, FalkorDB, pid {redis_server.pid})"
            )
        applied = asyncio.run(migrate(database_url))
        _say(f"schema      {len(applied)} migration(s) applied")
        self._seed_if_empty(redis_url, database_url)
        served = dataclasses.replace(
            settings, database_url=database_url, redis_url=redis_url
        )
        return {**os.environ, **served.to_environ()}

    def _seed_if_empty(self, redis_url: str, database_url: str) -> None:
        """Load the film data the first time (an empty graph); later runs skip it."""
        served = dataclasses.replace(
            self.settings, redis_url=redis_url, database_url=database_url
        )
        report = asyncio.run(seed(served, if_empty=True))
        if report.films is not None:
            _say(f"graph       {report.films.films} films imported")
        if report.projects is not None:
            _say(f"projects    {report.projects} synthetic projects generated")

    def _start_children(self, env: dict[str, str]) -> None:
        python = sys.executable
        commands = {
            "web": [python, "-m", "web"],
            "worker": queue.worker_command(
                python,
                concurrency=self.settings.worker_concurrency,
                name=f"onevice-dev-{os.getpid()}",
            ),
            "flower": [
                *[python, "-m", "celery", "-A", "workers.app"],
                "flower",
                "--address=127.0.0.1",
                f"--port={self.flower_port}",
            ],
            # Decisions only: there is no Render service to size here.
            "autoscaler": [python, "-m", "workers.autoscale", "--dry-run"],
        }
        self.commands = commands
        self.env = env
        for name in commands:
            self._spawn(name)

    def _spawn(self, name: str) -> None:
        self.children[name] = subprocess.Popen(
            self.commands[name],
            env=self.env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/health"
        while time.monotonic() < deadline:
            self._check_children()
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        raise DevStackError(
            f"the stack did not become healthy at {url} in {timeout:.0f}s"
        )

    def _print_banner(self) -> None:
        issuer = TokenIssuer.from_settings(self.settings)
        lines = [
            "",
            f"OneVice is running at {self.base_url}",
            f"  WebSocket  {self.base_url.replace('http', 'ws', 1)}/ws?token=<token>",
            f"  Flower     http://127.0.0.1:{self.flower_port}",
            "  Autoscaler dry run: its decisions are the autoscale_decided lines",
            "",
            f"Access tokens, valid {DEV_TOKEN_TTL // 3600} h (more: `onevice token`):",
        ]
        for role in ROLES:
            token = issuer.mint(
                role=role,
                sub=f"dev_{role.lower().replace(' ', '_')}",
                ttl=DEV_TOKEN_TTL,
            )
            lines += [f"  {role}:", f"    {token}"]
        lines += ["", *self._agent_lines(), "Press Ctrl-C to stop everything.", ""]
        print("\n".join(lines), flush=True)

    def _agent_lines(self) -> list[str]:
        """Which agents answer, and how to try a query."""
        available = load_registry(self.settings).available()
        return [
            f"Agents: {', '.join(available)}. Try:",
            f"  curl -X POST {self.base_url}/agents/sales-intelligence/query \\",
            "    -H 'Authorization: Bearer <token>' \\",
            '    -d \'{"query": "Research Juno Vale for a music video pitch"}\'',
            "",
        ]

    def _check_children(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None:
                raise DevStackError(
                    f"the {name} process exited with {child.returncode}"
                )

    def _watch(self) -> int:
        """Restart children that die, like a process manager; give up if they flap."""
        restarts: list[float] = []
        while True:
            time.sleep(0.5)
            for name, child in list(self.children.items()):
                if child.poll() is None:
                    continue
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < _RESTART_WINDOW_SECONDS]
                if len(restarts) >= _MAX_RESTARTS:
                    _say(
                        f"{name} keeps exiting (last code {child.returncode}); stopping"
                    )
                    return 1
                restarts.append(now)
                _say(f"{name} exited with {child.returncode}; restarting it")
                self._spawn(name)

    def _stop_all(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        for name, child in self.children.items():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(
                    f"onevice dev: {name} did not stop in time; killing it",
                    file=sys.stderr,
                )
                child.kill()
                child.wait(5)
        for server in reversed(self.servers):
            server.stop()
        self.children.clear()
        self.servers.clear()


def _say(text: str) -> None:
    print(f"onevice dev: {text}", file=sys.stderr, flush=True)
