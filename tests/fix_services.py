"""Real servers for the test session: PostgreSQL and Redis with FalkorDB.

Embedded servers are started once per session in a temporary directory, unless
``ONEVICE_TEST_DATABASE_URL`` / ``ONEVICE_TEST_REDIS_URL`` name running ones.
There is no skipping: without these servers the suite fails.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis.asyncio as aioredis
from psycopg import sql
from psycopg.conninfo import make_conninfo

from onevice.base.settings import Settings
from onevice.services.embedded import (
    DATABASES,
    EmbeddedPostgres,
    EmbeddedRedis,
    free_port,
)
from onevice.storage.db import Pool, migrate, open_pool


@pytest.fixture(scope="session")
def session_dir() -> Iterator[Path]:
    """A temporary directory for the session, removed at the end."""
    path = Path(tempfile.mkdtemp(prefix="onevice-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(session_dir: Path) -> Iterator[str]:
    """A PostgreSQL URL: given by the environment or an embedded cluster."""
    given = os.environ.get("ONEVICE_TEST_DATABASE_URL")
    if given:
        yield given
        return
    with EmbeddedPostgres(session_dir / "postgres", durable=False) as server:
        yield server.url


@pytest.fixture(scope="session")
def redis_url(session_dir: Path) -> Iterator[str]:
    """A Redis URL: given by the environment or an embedded redis-server+FalkorDB."""
    given = os.environ.get("ONEVICE_TEST_REDIS_URL")
    if given:
        yield given
        return
    with EmbeddedRedis(session_dir / "redis", durable=False) as server:
        yield server.url


@pytest.fixture(scope="session")
async def migrated(database_url: str) -> str:
    """The database with the schema applied."""
    await migrate(database_url)
    return database_url


@pytest.fixture(scope="session")
def settings(session_dir: Path, migrated: str, redis_url: str) -> Settings:
    """Settings of the stack under test: short limits so failures show quickly."""
    return Settings(
        data_dir=session_dir / "data",
        database_url=migrated,
        redis_url=redis_url,
        query_wait_seconds=20.0,
        query_time_limit_seconds=12.0,
        visibility_timeout_seconds=15.0,
        stream_ttl_seconds=600,
        max_body_bytes=16 * 1024,
        max_ws_frame_bytes=8 * 1024,
        agent_modules=("tests.agents",),
        max_concurrent_queries=3,
        worker_concurrency=8,
        # Load warnings only where a test asks for them (tests/test_load.py):
        # a debug-mode test loop lags, and a stray connection_status message
        # would interleave with what other tests expect to read.
        degraded_wait_seconds=3600.0,
        degraded_loop_lag_seconds=3600.0,
    )


@pytest.fixture(scope="session")
async def pool(settings: Settings) -> AsyncIterator[Pool]:
    """A connection pool for assertions on the database."""
    pool = open_pool(settings.require_database_url())
    await pool.open()
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def redis_client(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """A Redis client for assertions on streams and channels."""
    client = aioredis.Redis.from_url(settings.require_redis_url())
    yield client
    await client.aclose()


Isolate = Callable[[], Awaitable[Settings]]


@pytest.fixture(scope="session")
async def isolate(settings: Settings) -> Isolate:
    """Make settings for a stack of its own: a fresh database and Redis database.

    For tests that start and kill workers: the session's worker must not see (or
    rescue) their queries.
    """
    counter = itertools.count(1)

    async def make() -> Settings:
        number = next(counter)
        name = f"onevice_isolated_{number}_{uuid.uuid4().hex[:6]}"
        base = settings.require_database_url()
        admin = make_conninfo(base, dbname="postgres")
        async with await psycopg.AsyncConnection.connect(
            admin, autocommit=True
        ) as conn:
            await conn.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            )
        database_url = make_conninfo(base, dbname=name)
        await migrate(database_url)
        if number >= DATABASES:
            raise RuntimeError(f"more than {DATABASES - 1} isolated stacks")
        redis_url = settings.require_redis_url().rsplit("/", 1)[0] + f"/{number}"
        return dataclasses.replace(
            settings, database_url=database_url, redis_url=redis_url
        )

    return make


def with_redis_down(settings: Settings) -> Settings:
    """``settings`` with Redis pointing at a port nothing listens on."""
    return dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")


def with_database_down(settings: Settings) -> Settings:
    """``settings`` with PostgreSQL pointing at a port nothing listens on."""
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/onevice"
    return dataclasses.replace(settings, database_url=dead)
