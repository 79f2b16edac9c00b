"""What the rest of OneVice needs from a graph database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from onevice.base.errors import DependencyUnavailable

Row = dict[str, Any]


class GraphError(DependencyUnavailable):
    """The graph database refused or could not run a query."""


class Graph(Protocol):
    """A Cypher graph: run a query, get rows as dicts keyed by column."""

    name: str

    async def run(
        self, cypher: str, params: Mapping[str, Any] | None = None
    ) -> list[Row]:
        """Run ``cypher`` with ``params``; the result rows."""

    async def ensure_indexes(self) -> None:
        """Create the indexes and uniqueness constraints of identifying properties."""

    async def close(self) -> None:
        """Release connections."""
