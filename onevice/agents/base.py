"""What an agent is: a validator for its requests and a coroutine that streams.

An agent receives an :class:`AgentRun`, reads the stores through
``run.sources``, reports its stages with ``stage()``, streams its brief with
``compose()`` (or raw text with ``write()``), and returns an :class:`AgentResult` whose
``body`` holds the top-level fields of its spec §2.3 response. ``write`` and
``stage`` raise when a cancel was requested, so an agent stops at its next step
without polling.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol

from onevice.base.errors import ValidationError
from onevice.base.settings import Settings
from onevice.services.access import Viewer

if TYPE_CHECKING:
    from onevice.agents.sources import Sources
    from onevice.agents.writing import Brief, Writing

MAX_QUERY_CHARS: Final = 4000
REQUEST_SECTIONS: Final = (
    "context",
    "options",
    "filters",
    "criteria",
    "project_details",
)


class AgentRun(Protocol):
    """The running query as an agent sees it."""

    query_id: str
    viewer: Viewer
    request: Mapping[str, Any]
    settings: Settings
    sources: Sources

    async def stage(
        self, name: str, *, estimated_completion_ms: int | None = None
    ) -> None:
        """Announce the stage the agent is in (``agent_typing``)."""

    async def write(
        self, text: str, *, metadata: Mapping[str, Any] | None = None
    ) -> int:
        """Stream one chunk of the brief; return its ``chunk_index``."""

    async def check_cancelled(self) -> None:
        """Raise if a cancel was requested; for long steps that do not write."""

    async def project(self, project_id: str) -> dict[str, Any]:
        """A project as the query's owner may see it, already filtered (§4.3)."""

    async def compose(self, brief: Brief) -> Writing:
        """Write the brief with the configured writer, streaming it."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentResult:
    """The structured answer of an agent."""

    body: dict[str, Any]
    confidence_score: float | None = None
    data_sources: tuple[str, ...] = ()


class Agent(abc.ABC):
    """An agent the registry can run."""

    name: ClassVar[str]

    def validate(self, body: Any) -> dict[str, Any]:
        """Check a request body; return what to store, or raise ValidationError."""
        return validate_common(body)

    @abc.abstractmethod
    async def run(self, run: AgentRun) -> AgentResult:
        """Answer the query, streaming as it goes."""


def validate_common(body: Any) -> dict[str, Any]:
    """The checks every agent request passes: spec §2.3 and §3.2 shapes."""
    if not isinstance(body, dict):
        raise ValidationError.field(
            "body", "Request body must be a JSON object", provided=type(body).__name__
        )
    problems: list[dict[str, Any]] = list(_nul_problems(body))
    query = body.get("query")
    if not isinstance(query, str):
        problems.append(
            {"field": "query", "error": "Query must be a string", "provided": query}
        )
    elif not query.strip():
        problems.append(
            {"field": "query", "error": "Query cannot be empty", "provided": query}
        )
    elif len(query) > MAX_QUERY_CHARS:
        problems.append(
            {
                "field": "query",
                "error": f"Query is longer than {MAX_QUERY_CHARS} characters",
                "provided": len(query),
            }
        )
    for section in REQUEST_SECTIONS:
        value = body.get(section)
        if value is not None and not isinstance(value, dict):
            problems.append(
                {"field": section, "error": "Must be an object", "provided": value}
            )
    unknown = sorted(set(body) - {"query", "agent", *REQUEST_SECTIONS})
    problems.extend(
        {"field": name, "error": "Unknown field", "provided": body[name]}
        for name in unknown
    )
    options = body.get("options")
    if isinstance(options, dict):
        problems.extend(_option_problems(options))
    if problems:
        raise ValidationError(problems)
    return {
        "query": query,
        **{s: body[s] for s in REQUEST_SECTIONS if body.get(s) is not None},
    }


def _nul_problems(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every key or string in ``body`` with a NUL character, which PostgreSQL
    cannot store in text or JSONB; walked without recursion, as JSON may nest
    deeper than Python's recursion limit."""
    pending: list[tuple[str, Any]] = [("", body)]
    while pending:
        field, value = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            yield {
                "field": field or "body",
                "error": "Must not contain the NUL character",
                "provided": value[:200],
            }
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{field}.{key}" if field else str(key)
                if "\x00" in key:
                    yield {
                        "field": name[:200],
                        "error": "Names must not contain the NUL character",
                        "provided": None,
                    }
                pending.append((name, item))
        elif isinstance(value, list):
            pending.extend((f"{field}[{i}]", item) for i, item in enumerate(value))


def _option_problems(options: Mapping[str, Any]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    max_tokens = options.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool)
        or not isinstance(max_tokens, int)
        or not 1 <= max_tokens <= 8192
    ):
        problems.append(
            {
                "field": "options.max_tokens",
                "error": "Must be an integer from 1 to 8192",
                "provided": max_tokens,
            }
        )
    return problems + flag_problems(options, ("stream_response", "include_sources"))


def flag_problems(
    options: Mapping[str, Any], flags: Iterable[str]
) -> list[dict[str, Any]]:
    """A problem for each of ``flags`` given in ``options`` but not a boolean.

    A flag given as null counts as not given.
    """
    return [
        {
            "field": f"options.{flag}",
            "error": "Must be a boolean",
            "provided": options[flag],
        }
        for flag in flags
        if options.get(flag) is not None and not isinstance(options[flag], bool)
    ]
