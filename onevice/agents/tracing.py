"""Tracing agent runs to LangSmith, when a key is configured; silence otherwise.

Each run of an agent becomes a LangSmith run tree: the agent run at the root
(its request, outcome, latency), a child per stage, and a child for the
writing with the model, token usage and cost. The SDK sends runs from its own
background thread, so nothing here waits on the network; and every call into
it is guarded, so a failing tracer is logged once per run and never changes an
answer.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import structlog

from onevice.agents.writing import Writing
from onevice.base.settings import Settings

log = structlog.get_logger(__name__)

#: The longest a flush waits for queued runs to be sent.
FLUSH_TIMEOUT_SECONDS = 5.0


class Trace(Protocol):
    """One agent run's trace."""

    def stage(self, name: str) -> None:
        """The run entered stage ``name`` (the previous stage ends)."""

    def finish(
        self, status: str, *, writing: Writing | None, error: Mapping[str, Any] | None
    ) -> None:
        """The run ended with ``status``."""


class Tracer(Protocol):
    def start(self, *, agent: str, query_id: str, request: Mapping[str, Any]) -> Trace:
        """Begin the trace of one run."""

    def flush(self) -> None:
        """Send what is queued, waiting a bounded time (blocking: for shutdown)."""


class _Silent:
    """The trace when tracing is off."""

    def stage(self, name: str) -> None:
        return None

    def finish(
        self, status: str, *, writing: Writing | None, error: Mapping[str, Any] | None
    ) -> None:
        return None


class NoTracer:
    """Tracing off."""

    def start(self, *, agent: str, query_id: str, request: Mapping[str, Any]) -> Trace:
        return _Silent()

    def flush(self) -> None:
        return None


class LangSmithTracer:
    """Sends run trees to LangSmith through the ``langsmith`` SDK."""

    def __init__(self, settings: Settings):
        from langsmith import Client

        self.project = settings.langsmith_project
        self.client = Client(
            api_url=settings.langsmith_endpoint,
            api_key=settings.langsmith_api_key,
        )

    def start(self, *, agent: str, query_id: str, request: Mapping[str, Any]) -> Trace:
        return _LangSmithTrace(self, agent, query_id, request)

    def flush(self) -> None:
        """Send what is queued now, within FLUSH_TIMEOUT_SECONDS."""
        try:
            self.client.flush(timeout=FLUSH_TIMEOUT_SECONDS)
        except Exception as exc:
            log.warning("trace_failed", step="flush", error=type(exc).__name__)


class _LangSmithTrace:
    def __init__(
        self,
        tracer: LangSmithTracer,
        agent: str,
        query_id: str,
        request: Mapping[str, Any],
    ):
        from langsmith.run_trees import RunTree

        self.root: Any = None
        self.current: Any = None
        with self._guard("start"):
            self.root = RunTree(
                name=agent,
                run_type="chain",
                id=uuid.uuid4(),
                inputs={"query_id": query_id, "request": dict(request)},
                project_name=tracer.project,
                ls_client=tracer.client,
                extra={"metadata": {"query_id": query_id, "agent": agent}},
            )
            self.root.post()

    def stage(self, name: str) -> None:
        if self.root is None:
            return
        with self._guard("stage"):
            self._end_stage()
            self.current = self.root.create_child(name=name, run_type="chain")
            self.current.post()

    def finish(
        self, status: str, *, writing: Writing | None, error: Mapping[str, Any] | None
    ) -> None:
        if self.root is None:
            return
        with self._guard("finish"):
            self._end_stage()
            if writing is not None:
                self._writing(writing)
            self.root.end(
                outputs={"status": status},
                error=None if error is None else str(error.get("code")),
            )
            self.root.patch()

    def _writing(self, writing: Writing) -> None:
        child = self.root.create_child(
            name=f"writer:{writing.writer}",
            run_type="llm" if writing.model else "chain",
            inputs={"writer": writing.writer},
        )
        child.post()
        metadata: dict[str, Any] = {"chunks": writing.chunks}
        if writing.model:
            metadata |= {
                "ls_provider": "anthropic",
                "ls_model_name": writing.model,
                "cost_usd": writing.cost_usd,
            }
        if writing.fallback_reason:
            metadata["fallback_reason"] = writing.fallback_reason
        child.end(
            outputs={
                "text_chars": len(writing.text),
                "usage_metadata": {
                    "input_tokens": writing.input_tokens,
                    "output_tokens": writing.output_tokens,
                    "total_tokens": writing.input_tokens + writing.output_tokens,
                },
            },
            metadata=metadata,
        )
        child.patch()

    def _end_stage(self) -> None:
        if self.current is not None:
            self.current.end()
            self.current.patch()
            self.current = None

    @contextlib.contextmanager
    def _guard(self, step: str) -> Iterator[None]:
        """Log a tracer failure and stop tracing this run; never raise."""
        try:
            yield
        except Exception as exc:
            log.warning("trace_failed", step=step, error=type(exc).__name__)
            self.root = None


def make_tracer(settings: Settings) -> Tracer:
    """LangSmith when a key is configured; otherwise nothing is traced."""
    if settings.langsmith_api_key:
        return LangSmithTracer(settings)
    return NoTracer()
