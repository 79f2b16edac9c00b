"""Worker leases: a live worker's query cannot be claimed, a dead one's can."""

from __future__ import annotations

import uuid

from onevice.services.access import Viewer
from onevice.storage.db import Pool
from onevice.storage.queries import QueryRecord, QueryStore
from onevice.storage.workers import WorkerStore


async def new_query(store: QueryStore) -> QueryRecord:
    viewer = Viewer(sub=f"user_{uuid.uuid4().hex[:8]}", role="Director", org_id="org")
    record, _ = await store.submit(
        viewer, "test_stream", {"query": "q"}, idempotency_key=None, max_open=3
    )
    return record


async def test_a_live_workers_query_is_not_claimed_again(pool: Pool) -> None:
    """While its worker beats, a running query refuses a second claim."""
    store, workers = QueryStore(pool), WorkerStore(pool)
    record = await new_query(store)
    await workers.beat("alive-worker")
    assert await store.start(record.id, "alive-worker") is not None
    assert await store.start(record.id, "other-worker") is None


async def test_a_dead_workers_query_is_claimed_with_a_new_attempt(pool: Pool) -> None:
    """Once its worker's lease is stale, another worker claims it as attempt 2."""
    store, workers = QueryStore(pool), WorkerStore(pool)
    record = await new_query(store)
    await workers.beat("doomed-worker")
    await store.start(record.id, "doomed-worker")
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE workers SET seen_at = now() - interval '1 minute'"
            " WHERE name = 'doomed-worker'"
        )
    assert (record.id, "test_stream") in await workers.orphaned()
    claimed = await store.start(record.id, "rescuer")
    assert claimed is not None and claimed.attempts == 2


async def test_a_retry_on_the_same_worker_claims_again(pool: Pool) -> None:
    """A worker retrying its own query (after a store outage) may claim it."""
    store, workers = QueryStore(pool), WorkerStore(pool)
    record = await new_query(store)
    await workers.beat("retrying-worker")
    await store.start(record.id, "retrying-worker")
    claimed = await store.start(record.id, "retrying-worker")
    assert claimed is not None and claimed.attempts == 2
