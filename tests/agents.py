"""Agents that exist only for tests: they drive the pipeline without a model.

Loaded by the web app and the worker through ``ONEVICE_AGENT_MODULES``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from onevice.agents.base import Agent, AgentResult, AgentRun
from onevice.agents.registry import AgentRegistry


def _option(run: AgentRun, name: str, default: int) -> int:
    options: Any = run.request.get("options") or {}
    value = options.get(name, default)
    return int(value) if isinstance(value, int) else default


class StreamingAgent(Agent):
    """Streams ``options.chunks`` numbered chunks, ``options.delay_ms`` apart.

    ``options.pad`` pads every chunk to that many characters.
    """

    name = "test_stream"

    async def run(self, run: AgentRun) -> AgentResult:
        chunks = _option(run, "chunks", 5)
        delay = _option(run, "delay_ms", 0) / 1000
        pad = _option(run, "pad", 0)
        await run.stage("entity_analysis", estimated_completion_ms=chunks * 10)
        for index in range(1, chunks + 1):
            if delay:
                await asyncio.sleep(delay)
            await run.write(f"part {index} of {chunks}. ".ljust(pad, "."))
        await run.stage("drafting")
        return AgentResult(
            body={
                "result": {"summary": f"{chunks} parts", "query": run.request["query"]}
            },
            confidence_score=0.5,
            data_sources=("test",),
        )


class FailingAgent(Agent):
    """Writes one chunk, then fails like a crashing agent would."""

    name = "test_fail"

    async def run(self, run: AgentRun) -> AgentResult:
        await run.write("starting. ")
        raise RuntimeError("the test agent failed on purpose")


class SilentAgent(Agent):
    """Runs long without writing, checking for a cancel every step."""

    name = "test_silent"

    async def run(self, run: AgentRun) -> AgentResult:
        for _ in range(_option(run, "steps", 100)):
            await asyncio.sleep(0.05)
            await run.check_cancelled()
        return AgentResult(body={"result": {"summary": "silence"}})


class ProjectBriefAgent(Agent):
    """Streams what it may read of the project in ``context.project_id``."""

    name = "test_project_brief"

    async def run(self, run: AgentRun) -> AgentResult:
        context: Any = run.request.get("context") or {}
        project = await run.project(str(context.get("project_id")))
        await run.write(f"{project['name']}: budget {project['budget']}. ")
        for document in project["documents"]:
            await run.write(f"{document} ")
        return AgentResult(body={"result": {"project": project}})


class BuggyAgent(Agent):
    """Its validation has a bug: it raises an error nobody planned for."""

    name = "test_buggy"

    def validate(self, body: Any) -> dict[str, Any]:
        raise RuntimeError("a bug in validation, on purpose")

    async def run(self, run: AgentRun) -> AgentResult:
        raise AssertionError("never reached: validation always fails")


def register(registry: AgentRegistry) -> None:
    for agent in (
        StreamingAgent(),
        FailingAgent(),
        SilentAgent(),
        ProjectBriefAgent(),
        BuggyAgent(),
    ):
        registry.register(agent)
