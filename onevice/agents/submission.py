"""Submitting and cancelling queries: the steps shared by REST and WebSocket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from celery import Celery

from onevice.agents import complexity
from onevice.agents.registry import AgentRegistry
from onevice.base.errors import DependencyUnavailable, QueryFinished
from onevice.base.settings import Settings
from onevice.services import queue
from onevice.services.access import Viewer
from onevice.services.bus import BusError, ChunkBus
from onevice.storage.queries import QueryRecord, QueryStore

log = structlog.get_logger(__name__)


class QueryService:
    """Validates, stores and enqueues queries; cancels them."""

    def __init__(
        self,
        *,
        store: QueryStore,
        bus: ChunkBus,
        registry: AgentRegistry,
        celery: Celery,
        settings: Settings,
    ):
        self.store = store
        self.bus = bus
        self.registry = registry
        self.celery = celery
        self.settings = settings

    async def submit(
        self,
        viewer: Viewer,
        agent_name: str,
        body: Any,
        *,
        idempotency_key: str | None = None,
    ) -> tuple[QueryRecord, bool]:
        """Accept a query: validate, store as queued, send to the worker tier.

        Returns the query and whether it is new (False for an idempotent
        repeat). If the queue cannot take it, the stored row is withdrawn and
        DependencyUnavailable raised, so nothing half-accepted remains.
        """
        agent = self.registry.get(agent_name)
        request = agent.validate(body)
        complexity.check(viewer, request)
        record, created = await self.store.submit(
            viewer,
            agent_name,
            request,
            idempotency_key=idempotency_key,
            max_open=self.settings.max_concurrent_queries,
        )
        if not created:
            return record, False
        try:
            await queue.enqueue(self.celery, record.id, agent_name)
        except DependencyUnavailable:
            await self.store.withdraw(record.id)
            log.warning("query_withdrawn", query_id=record.id, reason="queue_down")
            raise
        log.info("query_submitted", query_id=record.id, agent=agent_name)
        return record, True

    async def cancel(self, viewer: Viewer, query_id: str) -> QueryRecord:
        """Cancel the viewer's query: at once if queued, at its next step if running."""
        record = await self.store.get(viewer, query_id)
        if record.is_final:
            raise QueryFinished(
                f"Query already {record.status}",
                details={"query_id": query_id, "status": record.status},
            )
        if await self.store.cancel_queued(query_id):
            await self._announce_cancelled(query_id)
        else:
            await self.bus.request_cancel(query_id)
        await queue.revoke(self.celery, query_id)
        log.info("query_cancel_requested", query_id=query_id)
        return await self.store.get(viewer, query_id)

    async def _announce_cancelled(self, query_id: str) -> None:
        error: Mapping[str, Any] = {
            "code": "QUERY_CANCELLED",
            "message": "The query was cancelled",
        }
        try:
            await self.bus.append(query_id, 0, "cancelled", dict(error))
        except BusError as exc:
            # A worker re-sends the final event of a final query it is handed,
            # so a lost announcement here is repaired on delivery.
            log.warning("cancel_event_not_written", query_id=query_id, reason=str(exc))
