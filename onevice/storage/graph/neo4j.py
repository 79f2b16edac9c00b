"""The graph in Neo4j, over Bolt with the official async driver (production)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neo4j import AsyncDriver, AsyncGraphDatabase
from neo4j.exceptions import Neo4jError, ServiceUnavailable

from onevice.storage.graph.falkor import INDEXES
from onevice.storage.graph.port import GraphError, Row


class Neo4jGraph:
    """The default database of the Neo4j server at ``uri``."""

    name = "neo4j"

    def __init__(self, uri: str, *, user: str = "", password: str = ""):
        auth = (user, password) if user and password else None
        self._driver: AsyncDriver = AsyncGraphDatabase.driver(uri, auth=auth)

    async def run(
        self, cypher: str, params: Mapping[str, Any] | None = None
    ) -> list[Row]:
        try:
            result = await self._driver.execute_query(cypher, dict(params or {}))
        except (Neo4jError, ServiceUnavailable, OSError) as exc:
            raise GraphError(
                "The graph database cannot run the query",
                details={"backend": self.name, "error": type(exc).__name__},
            ) from exc
        return [record.data() for record in result.records]

    async def ensure_indexes(self) -> None:
        """A uniqueness constraint (which brings its index) per identifying property."""
        for label, prop in INDEXES:
            await self.run(
                f"CREATE CONSTRAINT {label.lower()}_{prop} IF NOT EXISTS"
                f" FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE"
            )

    async def close(self) -> None:
        await self._driver.close()
