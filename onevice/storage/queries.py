"""The ``queries`` table: submission, ownership, and the state machine.

::

    queued ──▶ running ──▶ completed | failed | cancelled
      └──────────────────▶ cancelled

``attempts`` counts deliveries to a worker. Every write a worker makes names the
attempt it holds, so a worker that lost its query to a redelivery (it was presumed
dead) cannot overwrite the outcome of the attempt that replaced it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from typing import Any, Final, Literal

import orjson
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from onevice.base.errors import IdempotencyConflict, NotFound, RateLimited
from onevice.services.access import Viewer
from onevice.storage.db import Pool
from onevice.storage.workers import STALE_SECONDS

QueryStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
FINAL_STATUSES: Final = frozenset({"completed", "failed", "cancelled"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class QueryRecord:
    """One row of ``queries``."""

    id: str
    owner_sub: str
    org_id: str
    viewer: Viewer
    agent: str
    request: dict[str, Any]
    status: QueryStatus
    attempts: int
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    total_chunks: int | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    processing_time_ms: int | None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> QueryRecord:
        return cls(
            id=row["id"],
            owner_sub=row["owner_sub"],
            org_id=row["org_id"],
            viewer=Viewer.from_json(row["viewer"]),
            agent=row["agent"],
            request=row["request"],
            status=row["status"],
            attempts=row["attempts"],
            result=row["result"],
            error=row["error"],
            total_chunks=row["total_chunks"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            processing_time_ms=row["processing_time_ms"],
        )


#: Insert the query unless its idempotency key was used or its owner has too
#: many queries open; run under the owner's advisory lock.
_INSERT_IF_ALLOWED = """
INSERT INTO queries (id, owner_sub, org_id, viewer, agent, request,
                     request_hash, idempotency_key)
SELECT %(id)s, %(sub)s, %(org)s, %(viewer)s, %(agent)s, %(request)s, %(hash)s, %(key)s
WHERE NOT EXISTS (
        SELECT 1 FROM queries
        WHERE owner_sub = %(sub)s AND idempotency_key = %(key)s)
  AND (SELECT count(*) FROM queries
       WHERE owner_sub = %(sub)s AND status IN ('queued', 'running')) < %(max_open)s
RETURNING *
"""


#: Queries and model usage by agent and status, over every organisation: what
#: operators' metrics show. It reads the whole table: cheap at the sizes we run,
#: but a table of millions of rows would want a rollup kept as queries finish.
_TALLY = """
SELECT agent, status, count(*) AS queries,
       coalesce(sum((llm_usage->>'input_tokens')::bigint), 0) AS input_tokens,
       coalesce(sum((llm_usage->>'output_tokens')::bigint), 0) AS output_tokens,
       coalesce(sum((llm_usage->>'cost_usd')::float8), 0) AS cost_usd
FROM queries GROUP BY agent, status
"""


@dataclasses.dataclass(frozen=True)
class QueryTally:
    """How many queries of one agent are in one status, and their model usage."""

    agent: str
    status: QueryStatus
    queries: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


def new_query_id() -> str:
    return f"query_{uuid.uuid4().hex}"


def request_fingerprint(agent: str, request: Mapping[str, Any]) -> str:
    """A hash of what was asked, to tell an idempotent retry from a new request."""
    body = orjson.dumps(
        {"agent": agent, "request": request}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(body).hexdigest()


class QueryStore:
    """Reads and writes ``queries``; reads are always on behalf of a viewer."""

    def __init__(self, pool: Pool):
        self.pool = pool

    async def submit(
        self,
        viewer: Viewer,
        agent: str,
        request: Mapping[str, Any],
        *,
        idempotency_key: str | None,
        max_open: int,
    ) -> tuple[QueryRecord, bool]:
        """Store a new queued query; return it and whether it is new.

        A repeated ``idempotency_key`` with the same request returns the first
        query; with a different request it raises IdempotencyConflict. A user
        with ``max_open`` queries queued or running gets RateLimited.
        """
        fingerprint = request_fingerprint(agent, request)
        params = {
            "id": new_query_id(),
            "sub": viewer.sub,
            "org": viewer.org_id,
            "viewer": Jsonb(viewer.to_json()),
            "agent": agent,
            "request": Jsonb(dict(request)),
            "hash": fingerprint,
            "key": idempotency_key,
            "max_open": max_open,
        }
        async with self.pool.connection() as conn:
            # One submission at a time per user, so the open-query count and
            # the idempotency check cannot race with a parallel submission.
            # The statements go out in one pipeline: one network round trip.
            async with conn.pipeline(), conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%(sub)s, 0))",
                    params,
                )
                cursor = await conn.execute(_INSERT_IF_ALLOWED, params)
            inserted = await cursor.fetchone()
            if inserted is not None:
                return QueryRecord.from_row(inserted), True
            return await self._explain_refusal(conn, params), False

    async def _explain_refusal(
        self, conn: AsyncConnection[DictRow], params: Mapping[str, Any]
    ) -> QueryRecord:
        """Why a submission was not inserted: an idempotent repeat, or too many."""
        if params["key"] is not None:
            cursor = await conn.execute(
                "SELECT * FROM queries WHERE owner_sub = %(sub)s"
                " AND idempotency_key = %(key)s",
                params,
            )
            row = await cursor.fetchone()
            if row is not None:
                if row["request_hash"] != params["hash"]:
                    raise IdempotencyConflict(
                        "Idempotency key was already used for a different request",
                        details={"query_id": row["id"]},
                    )
                return QueryRecord.from_row(row)
        raise RateLimited(
            "Too many queries in progress; wait for one to finish",
            retry_after=5,
            details={"limit": params["max_open"]},
        )

    async def tally(self) -> list[QueryTally]:
        """Counts and model usage of all queries by agent and status, in one read."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(_TALLY)
            rows = await cursor.fetchall()
        return [
            QueryTally(
                agent=row["agent"],
                status=row["status"],
                queries=int(row["queries"]),
                input_tokens=int(row["input_tokens"]),
                output_tokens=int(row["output_tokens"]),
                cost_usd=float(row["cost_usd"]),
            )
            for row in rows
        ]

    async def withdraw(self, query_id: str) -> None:
        """Remove a query that could not be enqueued, as if never submitted."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "DELETE FROM queries WHERE id = %s AND status = 'queued'", (query_id,)
            )

    async def get(self, viewer: Viewer, query_id: str) -> QueryRecord:
        """The viewer's own query; anyone else's is NotFound, like a missing one."""
        if "\x00" in query_id:  # PostgreSQL text cannot hold it, so no id has it
            raise NotFound("Query not found", details={"query_id": query_id})
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT * FROM queries"
                " WHERE id = %s AND owner_sub = %s AND org_id = %s",
                (query_id, viewer.sub, viewer.org_id),
            )
            row = await cursor.fetchone()
        if row is None:
            raise NotFound("Query not found", details={"query_id": query_id})
        return QueryRecord.from_row(row)

    async def load(self, query_id: str) -> QueryRecord | None:
        """Any query by id, for the worker that runs it."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT * FROM queries WHERE id = %s", (query_id,)
            )
            row = await cursor.fetchone()
        return QueryRecord.from_row(row) if row else None

    async def start(self, query_id: str, worker: str) -> QueryRecord | None:
        """Claim the query for ``worker`` and count the attempt.

        A queued query is claimed; a running one only if it is already this
        worker's (a retry) or its worker is presumed dead. None means the
        query is final or held by a live worker: this delivery is a duplicate.
        """
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE queries q SET status = 'running', attempts = attempts + 1,"
                " worker = %(me)s, started_at = coalesce(started_at, now())"
                " WHERE id = %(id)s AND (status = 'queued' OR (status = 'running'"
                " AND (worker IS NULL OR worker = %(me)s OR NOT EXISTS ("
                "  SELECT 1 FROM workers w WHERE w.name = q.worker"
                "  AND w.seen_at > now() - make_interval(secs => %(stale)s)))))"
                " RETURNING *",
                {"me": worker, "id": query_id, "stale": STALE_SECONDS},
            )
            row = await cursor.fetchone()
        return QueryRecord.from_row(row) if row else None

    async def finish(
        self,
        query_id: str,
        attempt: int,
        status: QueryStatus,
        *,
        result: Mapping[str, Any] | None = None,
        error: Mapping[str, Any] | None = None,
        total_chunks: int | None = None,
        processing_time_ms: int | None = None,
        usage: Mapping[str, Any] | None = None,
    ) -> bool:
        """Record the outcome of ``attempt``; False if that attempt lost the query.

        ``usage`` says who wrote the answer and, for a model, its tokens and cost.
        """
        assert status in FINAL_STATUSES
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE queries SET status = %s, result = %s, error = %s,"
                " total_chunks = %s, processing_time_ms = %s, llm_usage = %s,"
                " finished_at = now()"
                " WHERE id = %s AND status = 'running' AND attempts = %s",
                (
                    status,
                    Jsonb(dict(result)) if result is not None else None,
                    Jsonb(dict(error)) if error is not None else None,
                    total_chunks,
                    processing_time_ms,
                    Jsonb(dict(usage)) if usage is not None else None,
                    query_id,
                    attempt,
                ),
            )
            return cursor.rowcount == 1

    async def cancel_queued(self, query_id: str) -> bool:
        """Cancel a query no worker has started; False if one has."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE queries SET status = 'cancelled', finished_at = now(),"
                " error = %s WHERE id = %s AND status = 'queued'",
                (Jsonb({"code": "QUERY_CANCELLED", "message": "Cancelled"}), query_id),
            )
            return cursor.rowcount == 1
