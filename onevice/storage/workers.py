"""Worker leases: who is alive, and which running queries lost their worker.

Each worker process writes a heartbeat row every ``HEARTBEAT_SECONDS``. A worker
whose row is older than ``STALE_SECONDS`` is presumed dead, and so are its
claims on running queries: another worker may claim them (see
``QueryStore.start``) without waiting for the broker's visibility timeout.
"""

from __future__ import annotations

from typing import Final

from onevice.storage.db import Pool

HEARTBEAT_SECONDS: Final = 2.0
STALE_SECONDS: Final = 10.0


class WorkerStore:
    """Heartbeats and the orphaned queries they reveal."""

    def __init__(self, pool: Pool):
        self.pool = pool

    async def beat(self, name: str) -> None:
        """Record that worker ``name`` is alive now."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO workers (name) VALUES (%s)"
                " ON CONFLICT (name) DO UPDATE SET seen_at = now()",
                (name,),
            )

    async def leave(self, name: str) -> None:
        """Remove worker ``name`` (it is stopping)."""
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM workers WHERE name = %s", (name,))

    async def alive(self) -> int:
        """How many workers have beaten recently."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT count(*) AS n FROM workers"
                " WHERE seen_at > now() - make_interval(secs => %s)",
                (STALE_SECONDS,),
            )
            row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def orphaned(self) -> list[tuple[str, str]]:
        """(query id, agent) of running queries whose worker is presumed dead."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, agent FROM queries q WHERE status = 'running'"
                " AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.name = q.worker"
                " AND w.seen_at > now() - make_interval(secs => %s))",
                (STALE_SECONDS,),
            )
            rows = await cursor.fetchall()
        return [(row["id"], row["agent"]) for row in rows]

    async def forget_dead(self, older_than_seconds: float = 3600) -> None:
        """Drop rows of workers silent for a long time (kept a while for forensics)."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "DELETE FROM workers WHERE seen_at < now() - make_interval(secs => %s)",
                (older_than_seconds,),
            )
