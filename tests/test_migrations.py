"""Schema migrations apply in order, once."""

from __future__ import annotations

from onevice.storage.db import Pool, migrate, migration_files


async def test_second_run_applies_nothing(migrated: str) -> None:
    """Running the migrations again after they were applied changes nothing."""
    assert await migrate(migrated) == []


async def test_every_migration_is_recorded(migrated: str, pool: Pool) -> None:
    """schema_migrations lists every shipped migration."""
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT version FROM schema_migrations ORDER BY 1")
        recorded = [row["version"] for row in await cursor.fetchall()]
    assert recorded == [version for version, _ in migration_files()]
