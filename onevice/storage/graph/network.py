"""Who is connected to whom: the graph reads behind Sales Intelligence.

Film credits (Person, Work, Company, Genre) are public. The company's own
nodes (Project, Talent) carry the organisation's id and are read only for the
viewer's organisation; projects carry their budget tier, never an amount.
Artists and clients are reached through the organisation's projects or by
name. Every method takes the viewer, like every read.
"""

from __future__ import annotations

from typing import Any

from onevice.services.access import Viewer
from onevice.storage.graph.port import Graph


class Network:
    """Relationship reads over the knowledge graph."""

    def __init__(self, graph: Graph):
        self.graph = graph

    # Film people and production companies (public credits)

    async def credits(self, viewer: Viewer, key: str) -> list[dict[str, Any]]:
        """A person's credits: relation, title and year, newest first."""
        return await self.graph.run(
            "MATCH (p:Person {key: $key})-[r]->(w:Work)"
            " RETURN type(r) AS relation, w.title AS title, w.year AS year"
            " ORDER BY year DESC, title ASC",
            {"key": key},
        )

    async def genres(self, viewer: Viewer, key: str) -> list[dict[str, Any]]:
        """The genres of a person's films, by how many of their films."""
        return await self.graph.run(
            "MATCH (p:Person {key: $key})-->(w:Work)-[:IN_GENRE]->(g:Genre)"
            " RETURN g.name AS genre, count(DISTINCT w) AS works"
            " ORDER BY works DESC, genre ASC LIMIT 5",
            {"key": key},
        )

    async def producers(self, viewer: Viewer, key: str) -> list[dict[str, Any]]:
        """The production companies of a person's films, most frequent first."""
        return await self.graph.run(
            "MATCH (p:Person {key: $key})-->(w:Work)<-[:PRODUCED]-(c:Company)"
            " RETURN c.name AS name, c.key AS key, count(DISTINCT w) AS works"
            " ORDER BY works DESC, name ASC LIMIT 5",
            {"key": key},
        )

    async def collaborators(
        self, viewer: Viewer, key: str, *, limit: int = 10
    ) -> list[dict[str, Any]]:
        """People credited on the same films, by how many films they share."""
        return await self.graph.run(
            "MATCH (p:Person {key: $key})-->(w:Work)<--(o:Person)"
            " WHERE o.key <> $key"
            " RETURN o.name AS name, o.key AS key, count(DISTINCT w) AS shared"
            " ORDER BY shared DESC, name ASC LIMIT $limit",
            {"key": key, "limit": limit},
        )

    async def second_degree(
        self, viewer: Viewer, key: str, through: list[str], *, limit: int = 5
    ) -> list[dict[str, Any]]:
        """People who worked with the ``through`` people but never with ``key``.

        Ranked by how many of the ``through`` people they worked with. One
        indexed lookup per person passed through, counted here: a single query
        over all of them would scan every person on some backends.
        """
        direct = {
            row["key"]
            for row in await self.graph.run(
                "MATCH (p:Person {key: $key})-->(w:Work)<--(o:Person)"
                " RETURN DISTINCT o.key AS key",
                {"key": key},
            )
        }
        via: dict[str, int] = {}
        names: dict[str, str] = {}
        for middle in through:
            rows = await self.graph.run(
                "MATCH (c:Person {key: $middle})-->(w:Work)<--(o:Person)"
                " RETURN DISTINCT o.name AS name, o.key AS key",
                {"middle": middle},
            )
            for row in rows:
                if row["key"] != key and row["key"] not in direct:
                    via[row["key"]] = via.get(row["key"], 0) + 1
                    names[row["key"]] = row["name"]
        ranked = sorted(via, key=lambda k: (-via[k], names[k]))[:limit]
        return [{"name": names[k], "key": k, "via": via[k]} for k in ranked]

    async def produced(self, viewer: Viewer, key: str) -> list[dict[str, Any]]:
        """A production company's films, newest first."""
        return await self.graph.run(
            "MATCH (c:Company {key: $key})-[:PRODUCED]->(w:Work)"
            " RETURN w.title AS title, w.year AS year ORDER BY year DESC, title ASC",
            {"key": key},
        )

    async def company_directors(
        self, viewer: Viewer, key: str, *, limit: int = 10
    ) -> list[dict[str, Any]]:
        """The directors a production company worked with most."""
        return await self.graph.run(
            "MATCH (c:Company {key: $key})-[:PRODUCED]->(w:Work)"
            "<-[:DIRECTED]-(p:Person)"
            " RETURN p.name AS name, p.key AS key, count(DISTINCT w) AS shared"
            " ORDER BY shared DESC, name ASC LIMIT $limit",
            {"key": key, "limit": limit},
        )

    # The company's own world: artists, clients, projects, talent

    async def artist(self, viewer: Viewer, key: str) -> dict[str, Any] | None:
        """An artist's name, genre and label."""
        rows = await self.graph.run(
            "MATCH (a:Artist {key: $key}) OPTIONAL MATCH (a)-[:SIGNED_TO]->(l:Client)"
            " RETURN a.name AS name, a.genre AS genre, l.name AS label,"
            " l.key AS label_key",
            {"key": key},
        )
        return rows[0] if rows else None

    async def label_mates(self, viewer: Viewer, label_key: str) -> list[str]:
        """The artists signed to a label."""
        rows = await self.graph.run(
            "MATCH (a:Artist)-[:SIGNED_TO]->(l:Client {key: $key})"
            " RETURN a.name AS name ORDER BY name",
            {"key": label_key},
        )
        return [row["name"] for row in rows]

    async def client(self, viewer: Viewer, key: str) -> dict[str, Any] | None:
        """A client's name and kind (brand or label)."""
        rows = await self.graph.run(
            "MATCH (c:Client {key: $key}) RETURN c.name AS name, c.kind AS kind",
            {"key": key},
        )
        return rows[0] if rows else None

    async def projects_of_artist(
        self, viewer: Viewer, key: str
    ) -> list[dict[str, Any]]:
        """The organisation's projects featuring an artist, with their teams."""
        return await self._projects(
            viewer, "MATCH (a:Artist {key: $key})-[:FEATURED_IN]->(p:Project)", key
        )

    async def projects_of_client(
        self, viewer: Viewer, key: str
    ) -> list[dict[str, Any]]:
        """The organisation's projects for a client, with their teams."""
        return await self._projects(
            viewer, "MATCH (p:Project)-[:FOR_CLIENT]->(c:Client {key: $key})", key
        )

    async def projects_of_talent(
        self, viewer: Viewer, talent_id: str
    ) -> list[dict[str, Any]]:
        """The organisation's projects a person worked on, with their teams."""
        return await self._projects(
            viewer,
            "MATCH (me:Talent {id: $key})-[:WORKED_ON]->(p:Project)",
            talent_id,
        )

    async def _projects(
        self, viewer: Viewer, match: str, key: str
    ) -> list[dict[str, Any]]:
        rows = await self.graph.run(
            f"{match} WHERE p.org_id = $org"
            " OPTIONAL MATCH (p)-[:FOR_CLIENT]->(c:Client)"
            " OPTIONAL MATCH (t:Talent)-[w:WORKED_ON]->(p)"
            " RETURN p.id AS id, p.name AS name, p.type AS type,"
            " p.status AS status, p.budget_tier AS budget_tier, c.name AS client,"
            " t.id AS talent_id, t.name AS talent, w.position AS position"
            " ORDER BY id, position, talent",
            {"key": key, "org": viewer.org_id},
        )
        projects: dict[str, dict[str, Any]] = {}
        for row in rows:
            project = projects.setdefault(
                row["id"],
                {
                    "id": row["id"],
                    "name": row["name"],
                    "type": row["type"],
                    "status": row["status"],
                    "budget_tier": row["budget_tier"],
                    "client": row["client"],
                    "team": [],
                },
            )
            member = {
                "id": row["talent_id"],
                "name": row["talent"],
                "position": row["position"],
            }
            if row["talent"] is not None and member not in project["team"]:
                project["team"].append(member)
        return list(projects.values())
