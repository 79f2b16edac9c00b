"""Writers: the built-in one, and Claude through the SDK against a stand-in API."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from onevice.agents.writing import (
    BUILTIN,
    CLAUDE,
    Brief,
    BuiltinWriter,
    ClaudeWriter,
    Section,
    Writing,
)
from onevice.base.settings import Settings
from onevice.services.access import Viewer
from onevice.storage.db import Pool, open_pool
from tests.fix_anthropic import FakeAnthropic
from tests.fix_services import Isolate
from tests.fix_stack import MakeUser, StartWeb, WorkerProcess

BRIEF = Brief(
    "Research Ridley Scott",
    (
        Section("Ridley Scott", ("A director.", "He made Alien (1979).")),
        Section("Around them", ("Russell Crowe shares 5 films.",), essential=False),
    ),
)
VIEWER = Viewer(sub="user_writer", role="Salesperson", org_id="org_writers")


@dataclasses.dataclass
class RecordingRun:
    """Just enough of a run for a writer: it keeps what is written."""

    request: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    chunks: list[str] = dataclasses.field(default_factory=list)

    async def write(self, text: str, *, metadata: Any = None) -> int:
        self.chunks.append(text)
        return len(self.chunks)


async def make(settings: Settings, fake: FakeAnthropic, **changes: Any) -> ClaudeWriter:
    """A Claude writer talking to the stand-in, made off the event loop.

    The SDK loads its TLS trust store when the client is made, which takes
    long enough to trip the blocked-loop check.
    """
    return await asyncio.to_thread(
        ClaudeWriter,
        dataclasses.replace(
            settings,
            anthropic_api_key="sk-ant-test-key",
            anthropic_base_url=fake.url,
            anthropic_max_retries=1,
            anthropic_timeout_seconds=5.0,
            **changes,
        ),
    )


async def write(writer: Any, brief: Brief, **request: Any) -> tuple[Writing, list[str]]:
    run = RecordingRun(request=request)
    writing = await writer.write(run, brief)
    return writing, run.chunks


async def test_builtin_writer_streams_a_sentence_per_chunk() -> None:
    writing, chunks = await write(BuiltinWriter(), BRIEF)
    assert chunks == [
        "Ridley Scott: A director. ",
        "He made Alien (1979).",
        "\n\nAround them: Russell Crowe shares 5 films.",
    ]
    assert writing.text == "".join(chunks) and writing.writer == BUILTIN
    short, _ = await write(BuiltinWriter(), dataclasses.replace(BRIEF, detailed=False))
    assert "Russell Crowe" not in short.text and "Alien" in short.text


async def test_claude_writes_from_the_facts_and_reports_usage(
    settings: Settings, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reset()
    writer = await make(settings, fake_anthropic, anthropic_max_tokens=900)
    writing, chunks = await write(writer, BRIEF, options={"max_tokens": 300})
    assert chunks == list(fake_anthropic.words)
    assert writing.writer == CLAUDE and writing.text == "".join(fake_anthropic.words)
    [sent] = fake_anthropic.requests
    assert sent["stream"] is True and sent["max_tokens"] == 300
    assert sent["model"] == settings.anthropic_model
    assert fake_anthropic.headers[0]["authorization"] == "Bearer sk-ant-test-key"
    prompt = fake_anthropic.prompt()
    for sentence in ("A director.", "He made Alien (1979).", "Russell Crowe"):
        assert sentence in prompt
    assert writing.input_tokens == fake_anthropic.input_tokens
    assert writing.output_tokens == len(fake_anthropic.words)
    # 120 input tokens at $3 and 4 output tokens at $15 per million.
    assert writing.cost_usd == round((120 * 3 + 4 * 15) / 1_000_000, 6)


async def test_max_tokens_never_exceeds_the_configured_ceiling(
    settings: Settings, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reset()
    writer = await make(settings, fake_anthropic, anthropic_max_tokens=200)
    await write(writer, BRIEF, options={"max_tokens": 8000})
    assert fake_anthropic.requests[0]["max_tokens"] == 200


async def test_a_failing_api_is_retried_then_the_builtin_writer_answers(
    settings: Settings, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reset("error", status=500)
    writing, chunks = await write(await make(settings, fake_anthropic), BRIEF)
    assert len(fake_anthropic.requests) == 2  # the call and one retry
    assert writing.writer == BUILTIN
    assert writing.fallback_reason == "Anthropic API answered 500"
    builtin, _ = await write(BuiltinWriter(), BRIEF)
    assert writing.text == builtin.text == "".join(chunks)


async def test_a_refused_request_is_not_retried(
    settings: Settings, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reset("error", status=401)
    writing, _ = await write(await make(settings, fake_anthropic), BRIEF)
    assert len(fake_anthropic.requests) == 1
    assert writing.fallback_reason == "Anthropic API answered 401"


async def test_a_stream_cut_midway_is_finished_by_the_builtin_writer(
    settings: Settings, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reset("cut")
    writing, chunks = await write(await make(settings, fake_anthropic), BRIEF)
    assert chunks[:2] == list(fake_anthropic.words[:2])
    assert "The model stopped" in chunks[2]
    builtin, _ = await write(BuiltinWriter(), BRIEF)
    assert writing.text.endswith(builtin.text) and writing.text == "".join(chunks)
    assert writing.writer == BUILTIN and writing.fallback_reason is not None


async def test_with_a_key_the_worker_has_claude_write_and_stores_usage(
    isolate: Isolate,
    start_web: StartWeb,
    session_dir: Path,
    fake_anthropic: FakeAnthropic,
    make_user: MakeUser,
) -> None:
    fake_anthropic.reset()
    settings = dataclasses.replace(
        await isolate(),
        anthropic_api_key="sk-ant-test-key",
        anthropic_base_url=fake_anthropic.url,
        anthropic_max_retries=0,
    )
    worker = WorkerProcess(settings, session_dir / "worker-claude.log")
    async with open_pool(settings.require_database_url()) as pool:
        await worker.start(pool)
        try:
            web = await start_web(settings)
            user = make_user()
            async with web.session.post(
                "/agents/sales-intelligence/query",
                json={"query": "Research Zqxvbrnt Wlpfokj"},
                headers=user.headers,
            ) as response:
                answer = await response.json()
            assert response.status == 200, answer
            assert answer["result"]["summary"] == "".join(fake_anthropic.words)
            assert answer["writer"]["name"] == CLAUDE
            assert "Zqxvbrnt Wlpfokj" in fake_anthropic.prompt()
            usage = await stored_usage(pool, answer["query_id"])
            assert usage["input_tokens"] == fake_anthropic.input_tokens
            assert usage["cost_usd"] > 0
            assert "sk-ant-test-key" not in worker.log()
        finally:
            await asyncio.to_thread(worker.stop)


async def stored_usage(pool: Pool, query_id: str) -> dict[str, Any]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT llm_usage FROM queries WHERE id = %s", (query_id,)
        )
        row = await cursor.fetchone()
    assert row is not None
    usage: dict[str, Any] = row["llm_usage"]
    return usage
