"""Questions the agents ask of the film graph.

Each takes the viewer like every read does. Film credits are public data with
no sensitivity category, so nothing here is withheld from any role.
"""

from __future__ import annotations

from typing import Any

from onevice.services.access import Viewer
from onevice.storage.graph.port import Graph


class FilmGraph:
    """Films, people and who worked with whom."""

    def __init__(self, graph: Graph):
        self.graph = graph

    async def films_directed_by(self, viewer: Viewer, key: str) -> list[dict[str, Any]]:
        """The films directed by the person with name key ``key``, oldest first."""
        return await self.graph.run(
            "MATCH (p:Person {key: $key})-[:DIRECTED]->(w:Work)"
            " RETURN w.id AS id, w.title AS title, w.year AS year"
            " ORDER BY year, title",
            {"key": key},
        )

    async def collaborators(
        self, viewer: Viewer, key: str, *, limit: int = 10
    ) -> list[dict[str, Any]]:
        """The people most often credited on the same films, with the count."""
        return await self.graph.run(
            "MATCH (p:Person {key: $key})-->(w:Work)<--(other:Person)"
            " WHERE other.key <> $key"
            " RETURN other.name AS name, count(DISTINCT w) AS shared"
            " ORDER BY shared DESC, name ASC LIMIT $limit",
            {"key": key, "limit": limit},
        )
