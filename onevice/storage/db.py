"""PostgreSQL: the connection pool and the schema migrations.

Migrations are the ``NNNN_name.sql`` files beside this module, applied in order,
each in its own transaction, recorded in ``schema_migrations``. An advisory lock
makes concurrent runs (two processes starting at once) apply each file once.
"""

from __future__ import annotations

from importlib import resources

import psycopg
import structlog
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

#: A pool whose connections return rows as dicts.
Pool = AsyncConnectionPool[psycopg.AsyncConnection[DictRow]]

log = structlog.get_logger(__name__)

_MIGRATION_LOCK = 0x0E1CE  # any constant shared by all OneVice processes


def open_pool(conninfo: str, *, min_size: int = 1, max_size: int = 10) -> Pool:
    """An unopened pool of dict-row connections; open it with ``await pool.open()``."""
    return AsyncConnectionPool(
        conninfo,
        connection_class=psycopg.AsyncConnection[DictRow],
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
        timeout=5.0,
        name="onevice",
    )


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) of every migration shipped with OneVice, in order."""
    folder = resources.files("onevice.storage").joinpath("migrations")
    files = sorted(
        (entry.name, entry.read_text())
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    return [(name.removesuffix(".sql"), sql) for name, sql in files]


async def migrate(conninfo: str) -> list[str]:
    """Apply the migrations not yet applied; return the versions applied now."""
    applied_now: list[str] = []
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cursor = await conn.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in await cursor.fetchall()}
            for version, sql in migration_files():
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql.encode())
                    await conn.execute(
                        "INSERT INTO schema_migrations (version) VALUES (%s)",
                        (version,),
                    )
                log.info("migration_applied", version=version)
                applied_now.append(version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
    return applied_now
