"""Tracing to LangSmith through its SDK, against a stand-in API on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from onevice.agents.tracing import LangSmithTracer, NoTracer, make_tracer
from onevice.agents.writing import Writing
from onevice.base.settings import Settings
from onevice.services.embedded import free_port
from onevice.storage.db import open_pool
from tests.fix_services import Isolate
from tests.fix_stack import MakeUser, StartWeb, WorkerProcess

RUNS = web.AppKey("runs", dict)


@dataclasses.dataclass
class FakeLangSmith:
    """The runs the stand-in received, merged by id (posts, then patches)."""

    server: TestServer
    runs: dict[str, dict[str, Any]]

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def named(self, name: str) -> list[dict[str, Any]]:
        return [run for run in self.runs.values() if run.get("name") == name]

    async def wait_for(self, name: str, *, ended: bool = True) -> dict[str, Any]:
        """The run called ``name`` once it arrived (and ended), within 20 s."""
        async with asyncio.timeout(20):
            while True:
                runs = [r for r in self.named(name) if r.get("end_time") or not ended]
                if runs:
                    return runs[-1]
                await asyncio.sleep(0.05)


async def _info(request: web.Request) -> web.Response:
    # The whole batch_ingest_config, as LangSmith sends it (the SDK's
    # background thread reads every key); batches as JSON, not multipart, so
    # the stand-in can read them simply.
    return web.json_response(
        {
            "version": "stand-in",
            "batch_ingest_config": {
                "use_multipart_endpoint": False,
                "size_limit": 100,
                "size_limit_bytes": 20_971_520,
                "scale_up_nthreads_limit": 16,
                "scale_up_qsize_trigger": 1000,
                "scale_down_nempty_trigger": 4,
            },
        }
    )


async def _batch(request: web.Request) -> web.Response:
    raw = await request.read()
    if request.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    body = json.loads(raw)
    runs = request.app[RUNS]
    for run in body.get("post", []) + body.get("patch", []):
        runs.setdefault(run["id"], {}).update(run)
    return web.json_response({})


@pytest.fixture(scope="module")
async def langsmith() -> AsyncIterator[FakeLangSmith]:
    app = web.Application()
    runs: dict[str, dict[str, Any]] = {}
    app[RUNS] = runs
    app.router.add_get("/info", _info)
    app.router.add_post("/runs/batch", _batch)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield FakeLangSmith(server, runs)
    await server.close()


async def tracer_for(url: str) -> LangSmithTracer:
    settings = Settings(langsmith_api_key="lsv2_test_key", langsmith_endpoint=url)
    tracer = await asyncio.to_thread(make_tracer, settings)
    assert isinstance(tracer, LangSmithTracer)
    return tracer


def test_tracing_is_off_without_a_key() -> None:
    """Without LANGSMITH_API_KEY nothing is traced."""
    assert isinstance(make_tracer(Settings()), NoTracer)


async def test_a_run_its_stages_and_the_writing_are_traced(
    langsmith: FakeLangSmith,
) -> None:
    """The root run holds the outcome; stages and the writing are its children."""
    tracer = await tracer_for(langsmith.url)
    trace = tracer.start(
        agent="trace_probe", query_id="query_trace_1", request={"query": "q"}
    )
    trace.stage("entity_analysis")
    trace.stage("drafting")
    writing = Writing(
        "claude",
        "text",
        2,
        model="claude-x",
        input_tokens=5,
        output_tokens=7,
        cost_usd=0.000120,
    )
    trace.finish("completed", writing=writing, error=None)
    await asyncio.to_thread(tracer.flush)
    root = await langsmith.wait_for("trace_probe")
    assert root["inputs"]["query_id"] == "query_trace_1"
    assert root["outputs"] == {"status": "completed"}
    # The SDK sends in batches from its own thread; on a busy machine the
    # children may come in a batch after the root's.
    for name in ("entity_analysis", "drafting", "writer:claude"):
        await langsmith.wait_for(name)
    children = {
        run["name"]: run
        for run in langsmith.runs.values()
        if run.get("parent_run_id") == root["id"]
    }
    assert set(children) == {"entity_analysis", "drafting", "writer:claude"}
    assert all(child.get("end_time") for child in children.values())
    llm = children["writer:claude"]
    assert llm["run_type"] == "llm"
    assert llm["outputs"]["usage_metadata"]["total_tokens"] == 12
    assert llm["extra"]["metadata"]["cost_usd"] == 0.000120


async def test_an_unreachable_tracer_changes_no_answer(
    isolate: Isolate,
    start_web: StartWeb,
    session_dir: Path,
    make_user: MakeUser,
) -> None:
    """A LangSmith that cannot be reached leaves the answer as it was."""
    settings = dataclasses.replace(
        await isolate(),
        langsmith_api_key="lsv2_test_key",
        langsmith_endpoint=f"http://127.0.0.1:{free_port()}",
    )
    worker = WorkerProcess(settings, session_dir / "worker-tracing.log")
    async with open_pool(settings.require_database_url()) as pool:
        await worker.start(pool)
    try:
        web_server = await start_web(settings)
        async with web_server.session.post(
            "/agents/sales-intelligence/query",
            json={"query": "Research Zqxvbrnt Wlpfokj"},
            headers=make_user().headers,
        ) as response:
            answer = await response.json()
        assert response.status == 200, answer
        assert answer["result"]["not_found"] == ["Zqxvbrnt Wlpfokj"]
        assert "lsv2_test_key" not in worker.log()
    finally:
        await asyncio.to_thread(worker.stop)


async def test_the_worker_traces_each_query(
    isolate: Isolate,
    start_web: StartWeb,
    session_dir: Path,
    make_user: MakeUser,
    langsmith: FakeLangSmith,
) -> None:
    """A worker with a key traces every query it runs, stage by stage."""
    settings = dataclasses.replace(
        await isolate(),
        langsmith_api_key="lsv2_test_key",
        langsmith_endpoint=langsmith.url,
    )
    worker = WorkerProcess(settings, session_dir / "worker-traced.log")
    async with open_pool(settings.require_database_url()) as pool:
        await worker.start(pool)
    try:
        web_server = await start_web(settings)
        async with web_server.session.post(
            "/agents/sales-intelligence/query",
            json={"query": "Research Zqxvbrnt Wlpfokj"},
            headers=make_user().headers,
        ) as response:
            answer = await response.json()
        assert response.status == 200, answer
        root = await langsmith.wait_for("sales_intelligence")
        assert root["inputs"]["query_id"] == answer["query_id"]
        assert root["outputs"] == {"status": "completed"}
        stages = {
            run["name"]
            for run in langsmith.runs.values()
            if run.get("parent_run_id") == root["id"]
        }
        assert {"entity_analysis", "drafting", "writer:built-in"} <= stages
    finally:
        await asyncio.to_thread(worker.stop)
