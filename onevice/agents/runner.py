"""Running one delivery of a query, from claim to final event.

The worker tier calls :meth:`QueryRunner.run` once per delivery of a task. The
order of writes matters:

1. Claim the query in PostgreSQL (``queued``/``running`` → ``running``, attempt
   + 1). A query already final is not run again; if its final event was lost
   (the previous worker died between the two writes), it is re-sent.
2. A second attempt first appends a ``restarted`` event: the client is told to
   drop the chunks it has (``discard_through_chunk``) and numbering goes on
   from there, so chunk indexes stay gap-free and the text after the marker is
   one whole answer.
3. The outcome is written to PostgreSQL before the final event is published, so
   a client that reacts to the event and reads the query sees the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Mapping
from typing import Any, Literal

import structlog

from onevice.agents.base import AgentResult
from onevice.agents.registry import AgentRegistry
from onevice.agents.sources import Sources, Stores
from onevice.agents.tracing import NoTracer, Trace, Tracer
from onevice.agents.writing import Brief, Writer, Writing
from onevice.base.errors import OneViceError
from onevice.base.settings import Settings
from onevice.services.access import Viewer
from onevice.services.bus import (
    BusError,
    CancelRequested,
    ChunkBus,
    EventKind,
    QueryAlreadyFinal,
    StaleAttempt,
    now_iso,
)
from onevice.services.transient import TRANSIENT_ERRORS
from onevice.storage.queries import QueryRecord, QueryStore

log = structlog.get_logger(__name__)

#: Events an agent may have queued before it has to wait for the bus.
_MAX_QUEUED_EVENTS = 256

FinalStatus = Literal["completed", "failed", "cancelled"]
Outcome = Literal["completed", "failed", "cancelled", "skipped", "superseded"]


@dataclasses.dataclass(kw_only=True)
class _Run:
    """The AgentRun handed to an agent: its steps go to the bus in bursts.

    ``stage`` and ``write`` queue the event and return at once; a flusher task
    sends what is queued in one round trip, and whatever the agent queues
    meanwhile goes in the next. A slow writer thus sends each chunk as soon as
    it is written, and a fast one does not pay a round trip per chunk. A
    refusal of the bus (cancel, a newer attempt) is raised by the next step.
    """

    query_id: str
    viewer: Viewer
    request: Mapping[str, Any]
    settings: Settings
    attempt: int
    agent: str
    bus: ChunkBus
    sources: Sources
    writer: Writer
    trace: Trace
    writing: Writing | None = None
    last_chunk: int = 0
    flushed_chunk: int = 0
    stage_name: str = "starting"
    _pending: list[tuple[EventKind, dict[str, Any]]] = dataclasses.field(
        default_factory=list
    )
    _flusher: asyncio.Task[None] | None = None
    _failure: Exception | None = None

    async def stage(
        self, name: str, *, estimated_completion_ms: int | None = None
    ) -> None:
        self.stage_name = name
        self.trace.stage(name)
        data: dict[str, Any] = {"agent": self.agent, "stage": name}
        if estimated_completion_ms is not None:
            data["estimated_completion"] = estimated_completion_ms
        await self._queue("typing", data)

    async def write(
        self, text: str, *, metadata: Mapping[str, Any] | None = None
    ) -> int:
        await self._queue(
            "chunk",
            {
                "agent": self.agent,
                "content": text,
                "metadata": {"processing_stage": self.stage_name, **(metadata or {})},
            },
        )
        # The attempt owns the stream (the bus fences out any other), so the
        # bus numbers this chunk exactly as counted here.
        self.last_chunk += 1
        return self.last_chunk

    async def check_cancelled(self) -> None:
        self._raise_failure()
        if await self.bus.cancel_requested(self.query_id):
            raise CancelRequested("cancel requested")

    async def project(self, project_id: str) -> dict[str, Any]:
        return await self.sources.projects().get(self.viewer, project_id)

    async def compose(self, brief: Brief) -> Writing:
        self.writing = await self.writer.write(self, brief)
        return self.writing

    async def drain(self) -> None:
        """Wait until every queued event is on the bus; raise what refused it."""
        if self._flusher is not None:
            await self._flusher
        self._raise_failure()

    async def settle(self) -> None:
        """Drain without raising: before a final event, whatever the outcome."""
        with contextlib.suppress(Exception):
            await self.drain()

    async def _queue(self, kind: EventKind, data: dict[str, Any]) -> None:
        self._raise_failure()
        data["ts"] = now_iso()
        self._pending.append((kind, data))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        elif len(self._pending) >= _MAX_QUEUED_EVENTS:
            await self._flusher  # the bus is slow: hold the agent back

    async def _flush(self) -> None:
        while self._pending and self._failure is None:
            batch, self._pending = self._pending, []
            try:
                events = await self.bus.append_many(self.query_id, self.attempt, batch)
                self.flushed_chunk = events[-1].chunk_index
            except Exception as exc:
                self._failure = exc
                self._pending.clear()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


class QueryRunner:
    """Runs deliveries of queries with the agents of a registry."""

    def __init__(
        self,
        *,
        store: QueryStore,
        bus: ChunkBus,
        registry: AgentRegistry,
        settings: Settings,
        worker: str,
        stores: Stores,
        writer: Writer,
        tracer: Tracer | None = None,
    ):
        self.store = store
        self.stores = stores
        self.writer = writer
        self.tracer = tracer or NoTracer()
        self.bus = bus
        self.registry = registry
        self.settings = settings
        self.worker = worker
        self._running: set[str] = set()

    async def run(self, query_id: str) -> Outcome:
        """Run one delivery of ``query_id`` to its final state."""
        if query_id in self._running:
            log.info("query_duplicate_delivery", query_id=query_id)
            return "skipped"
        self._running.add(query_id)
        try:
            record = await self.store.start(query_id, self.worker)
            if record is None:
                await self._resend_final_event(query_id)
                return "skipped"
            structlog.contextvars.bind_contextvars(
                query_id=query_id, agent=record.agent
            )
            return await self._run_claimed(record)
        finally:
            self._running.discard(query_id)
            structlog.contextvars.unbind_contextvars("query_id", "agent")

    async def _run_claimed(self, record: QueryRecord) -> Outcome:
        attempt = record.attempts
        # A first attempt starts on an empty stream; a later one goes on from
        # the chunks its predecessors streamed.
        streamed = await self.bus.last_chunk(record.id) if attempt > 1 else 0
        run = _Run(
            query_id=record.id,
            viewer=record.viewer,
            request=record.request,
            settings=self.settings,
            attempt=attempt,
            agent=record.agent,
            bus=self.bus,
            sources=Sources(self.stores),
            writer=self.writer,
            trace=self.tracer.start(
                agent=record.agent, query_id=record.id, request=record.request
            ),
            last_chunk=streamed,
            flushed_chunk=streamed,
        )
        log.info("query_started", attempt=attempt)
        started = time.monotonic()
        try:
            if attempt > 1:
                await self.bus.append(
                    record.id,
                    attempt,
                    "restarted",
                    {"attempt": attempt, "discard_through_chunk": run.last_chunk},
                )
                log.warning("query_restarted", attempt=attempt, after=run.last_chunk)
            agent = self.registry.get(record.agent)
            result = await asyncio.wait_for(
                agent.run(run), timeout=self.settings.query_time_limit_seconds
            )
            await run.drain()
        except CancelRequested:
            return await self._finish_cancelled(run, started)
        except (StaleAttempt, QueryAlreadyFinal) as exc:
            log.warning("query_superseded", attempt=attempt, reason=str(exc))
            return "superseded"
        except TimeoutError:
            error = {
                "code": "QUERY_TIMEOUT",
                "message": "The query ran past its time limit",
                "details": {"limit_seconds": self.settings.query_time_limit_seconds},
            }
            return await self._finish_failed(run, started, error)
        except OneViceError as exc:
            error = {"code": exc.code, "message": exc.message, "details": exc.details}
            return await self._finish_failed(run, started, error)
        except TRANSIENT_ERRORS:
            # A store was unreachable: not the agent's failure. The task is
            # retried and the next attempt restarts the answer.
            raise
        except Exception as exc:
            log.exception("query_crashed", error=type(exc).__name__)
            error = {
                "code": "AGENT_FAILED",
                "message": "The agent failed while answering",
                "details": {"error": type(exc).__name__},
            }
            return await self._finish_failed(run, started, error)
        return await self._finish_completed(run, started, result)

    async def _finish_completed(
        self, run: _Run, started: float, result: AgentResult
    ) -> Outcome:
        body = {"query_id": run.query_id, "agent": run.agent, **result.body}
        if result.confidence_score is not None:
            body.setdefault("confidence_score", result.confidence_score)
        sources = result.data_sources or run.sources.names()
        if sources:
            body.setdefault("data_sources", list(sources))
        usage = None
        if run.writing is not None:
            usage = run.writing.report()
            body.setdefault("writer", usage)
        return await self._finish(run, started, "completed", result=body, usage=usage)

    async def _finish_failed(
        self, run: _Run, started: float, error: dict[str, Any]
    ) -> Outcome:
        return await self._finish(run, started, "failed", error=error)

    async def _finish_cancelled(self, run: _Run, started: float) -> Outcome:
        error = {"code": "QUERY_CANCELLED", "message": "The query was cancelled"}
        return await self._finish(run, started, "cancelled", error=error)

    async def _finish(
        self,
        run: _Run,
        started: float,
        status: FinalStatus,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> Outcome:
        """Record the outcome, then publish the final event (in that order)."""
        await run.settle()  # chunks the agent queued go out before the end
        total_chunks = run.flushed_chunk
        elapsed = _ms_since(started)
        if result is not None:
            result["processing_time_ms"] = elapsed
        won = await self.store.finish(
            run.query_id,
            run.attempt,
            status,
            result=result,
            error=error,
            total_chunks=total_chunks,
            processing_time_ms=elapsed,
            usage=usage,
        )
        run.trace.finish(status, writing=run.writing, error=error)
        if not won:
            return "superseded"
        kind, data = final_event(
            status,
            agent=run.agent,
            result=result,
            error=error,
            total_chunks=total_chunks,
            processing_time_ms=elapsed,
        )
        # Already written by an earlier delivery: the outcome is the same row.
        with contextlib.suppress(QueryAlreadyFinal):
            await self.bus.append(run.query_id, run.attempt, kind, data)
        report = log.warning if status == "failed" else log.info
        report(f"query_{status}", chunks=total_chunks, elapsed_ms=elapsed)
        return status

    async def _resend_final_event(self, query_id: str) -> None:
        """A delivery of a final query: make sure its final event exists."""
        record = await self.store.load(query_id)
        if record is None or not record.is_final:
            return
        if await self.bus.has_final(query_id):
            return
        kind, data = final_event_of(record)
        try:
            await self.bus.append(query_id, record.attempts, kind, data)
        except BusError as exc:
            log.warning("final_event_not_resent", query_id=query_id, reason=str(exc))


def final_event(
    status: FinalStatus,
    *,
    agent: str,
    result: dict[str, Any] | None,
    error: dict[str, Any] | None,
    total_chunks: int,
    processing_time_ms: int | None,
) -> tuple[EventKind, dict[str, Any]]:
    """The final event that ends a query's stream."""
    if status == "completed":
        body = result or {}
        return "complete", {
            "agent": agent,
            "result": body,
            "total_chunks": total_chunks,
            "processing_time_ms": processing_time_ms,
            "confidence_score": body.get("confidence_score"),
            "data_sources": body.get("data_sources", []),
        }
    kind: EventKind = "cancelled" if status == "cancelled" else "failed"
    return kind, dict(error or {"code": "QUERY_FAILED", "message": "Failed"})


def final_event_of(record: QueryRecord) -> tuple[EventKind, dict[str, Any]]:
    """The final event of a final query, rebuilt from its row."""
    assert record.status != "queued" and record.status != "running"
    return final_event(
        record.status,
        agent=record.agent,
        result=record.result,
        error=record.error,
        total_chunks=record.total_chunks or 0,
        processing_time_ms=record.processing_time_ms,
    )


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
