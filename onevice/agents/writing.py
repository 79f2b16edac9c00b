"""Writing a brief from facts: with Claude when configured, built in otherwise.

An agent gathers its facts into a :class:`Brief`: titled sections of short,
complete sentences, every one of them read from the stores through the
viewer-filtered reads. A writer turns the brief into the text the client sees,
streaming it through ``run.write``:

- :class:`BuiltinWriter` writes the facts themselves, a sentence per chunk, as
  soon as they are known. It needs nothing outside the process.
- :class:`ClaudeWriter` (when ``ANTHROPIC_API_KEY`` is set) asks Claude, through
  the official SDK's streaming Messages API, to write the brief from those
  facts and nothing else, and relays the text as it arrives. Token usage and
  cost are reported so they are stored with the query. If the API fails (after
  the SDK's own retries with backoff), the built-in writer finishes the job and
  the outcome says so.

``format`` ``brief`` keeps the sections marked essential; ``detailed_brief``
writes them all. The facts are the same; only the length changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

import anthropic
import httpx2
import structlog

from onevice.agents.base import AgentRun
from onevice.base.settings import Settings

log = structlog.get_logger(__name__)

BUILTIN = "built-in"
CLAUDE = "claude"

SYSTEM_PROMPT = (
    "You write short business briefs for a production company that makes music "
    "videos and commercials. Write only from the facts you are given: do not add "
    "names, numbers, dates or claims that are not in them, and say plainly when "
    "the facts say something was not found. Plain prose, no headings or lists, "
    "no preamble."
)


@dataclasses.dataclass(frozen=True)
class Section:
    """A part of a brief: a heading and its sentences."""

    heading: str
    sentences: tuple[str, ...]
    #: Written in every format; otherwise only in ``detailed_brief``.
    essential: bool = True


@dataclasses.dataclass(frozen=True)
class Brief:
    """What the agent found, as sentences, ready to be written."""

    question: str
    sections: tuple[Section, ...]
    detailed: bool = True

    def chosen(self) -> list[Section]:
        """The sections the format asks for, empty ones left out."""
        return [
            s for s in self.sections if s.sentences and (self.detailed or s.essential)
        ]


@dataclasses.dataclass(frozen=True)
class Writing:
    """How a brief was written: by whom, at what cost, and the text."""

    writer: str
    text: str
    chunks: int
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    fallback_reason: str | None = None

    def report(self) -> dict[str, Any]:
        """The ``writer`` part of a result, and what is stored as usage."""
        shown: dict[str, Any] = {"name": self.writer, "chunks": self.chunks}
        if self.model is not None:
            shown |= {
                "model": self.model,
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "cost_usd": self.cost_usd,
            }
        if self.fallback_reason is not None:
            shown["fallback_reason"] = self.fallback_reason
        return shown


class Writer(Protocol):
    async def write(self, run: AgentRun, brief: Brief) -> Writing:
        """Stream the brief through ``run.write``; report how it went."""


class BuiltinWriter:
    """Writes the facts themselves, one sentence per chunk."""

    async def write(self, run: AgentRun, brief: Brief) -> Writing:
        parts: list[str] = []
        for number, section in enumerate(brief.chosen()):
            lead = "" if number == 0 else "\n\n"
            for index, sentence in enumerate(section.sentences):
                text = sentence
                if index == 0:
                    text = f"{lead}{section.heading}: {sentence}"
                if index < len(section.sentences) - 1:
                    text += " "
                await run.write(text)
                parts.append(text)
                lead = ""
        return Writing(BUILTIN, "".join(parts), len(parts))


class ClaudeWriter:
    """Claude writes the brief from the facts; the built-in writer stands by."""

    def __init__(self, settings: Settings, *, fallback: Writer | None = None):
        self.settings = settings
        self.fallback = fallback or BuiltinWriter()
        self.client = anthropic.AsyncAnthropic(
            api_key=settings.anthropic_api_key,
            base_url=settings.anthropic_base_url,
            timeout=settings.anthropic_timeout_seconds,
            max_retries=settings.anthropic_max_retries,
        )

    async def write(self, run: AgentRun, brief: Brief) -> Writing:
        options: Any = run.request.get("options") or {}
        max_tokens = min(
            int(options.get("max_tokens") or self.settings.anthropic_max_tokens),
            self.settings.anthropic_max_tokens,
        )
        parts: list[str] = []
        try:
            async with self.client.messages.stream(
                model=self.settings.anthropic_model,
                max_tokens=max_tokens,
                system=SYSTEM_PROMPT,
                messages=[{"role": "user", "content": prompt(brief)}],
            ) as stream:
                async for text in stream.text_stream:
                    if text:
                        await run.write(text)
                        parts.append(text)
                message = await stream.get_final_message()
        except (anthropic.AnthropicError, httpx2.HTTPError) as exc:
            # The SDK raises its own errors for a failed request, but a stream
            # cut midway surfaces as its HTTP client's (httpx2) error.
            return await self._fall_back(run, brief, exc, parts)
        usage = message.usage
        return Writing(
            CLAUDE,
            "".join(parts),
            len(parts),
            model=message.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=self.cost(usage.input_tokens, usage.output_tokens),
        )

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """The price of a call in US dollars, from the configured rates."""
        settings = self.settings
        dollars = (
            input_tokens * settings.anthropic_input_usd_per_mtok
            + output_tokens * settings.anthropic_output_usd_per_mtok
        ) / 1_000_000
        return round(dollars, 6)

    async def _fall_back(
        self, run: AgentRun, brief: Brief, exc: Exception, parts: Sequence[str]
    ) -> Writing:
        reason = _reason(exc)
        log.warning("writer_fell_back", error=type(exc).__name__, reason=reason)
        prefix = ""
        if parts:
            # The model stopped mid-brief: say so, then give the whole brief.
            notice = "\n\n[The model stopped; the brief from the facts follows.]\n\n"
            await run.write(notice)
            prefix = "".join(parts) + notice
        written = await self.fallback.write(run, brief)
        return dataclasses.replace(
            written,
            text=prefix + written.text,
            chunks=written.chunks + len(parts) + (1 if parts else 0),
            fallback_reason=reason,
        )


def prompt(brief: Brief) -> str:
    """The user message: the question and the facts, nothing else."""
    lines = [f"Question: {brief.question}", "", "Facts:"]
    for section in brief.chosen():
        lines.append(f"[{section.heading}]")
        lines.extend(f"- {sentence}" for sentence in section.sentences)
    length = "a detailed brief" if brief.detailed else "a brief of a few sentences"
    lines += ["", f"Write {length} that answers the question from these facts."]
    return "\n".join(lines)


def make_writer(settings: Settings) -> Writer:
    """Claude when a key is configured, the built-in writer otherwise."""
    if settings.anthropic_api_key:
        return ClaudeWriter(settings)
    return BuiltinWriter()


def _reason(exc: Exception) -> str:
    if isinstance(exc, anthropic.APIStatusError):
        return f"Anthropic API answered {exc.status_code}"
    if isinstance(exc, anthropic.APITimeoutError):
        return "Anthropic API timed out"
    if isinstance(exc, anthropic.APIConnectionError):
        return "Anthropic API unreachable"
    return f"Anthropic API failed ({type(exc).__name__})"
