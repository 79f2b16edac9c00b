"""The graph in FalkorDB: Cypher over the Redis protocol, in the embedded server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from falkordb.asyncio import FalkorDB
from redis.exceptions import RedisError, ResponseError

from onevice.storage.graph.port import GraphError, Row

GRAPH_NAME: Final = "onevice"

#: (label, property) pairs that identify a node: indexed and unique.
INDEXES: Final = (
    ("Person", "key"),
    ("Work", "id"),
    ("Company", "key"),
    ("Genre", "name"),
    ("Project", "id"),
    ("Client", "key"),
    ("Talent", "id"),
    ("Artist", "key"),
)


class FalkorGraph:
    """The ``onevice`` graph of a FalkorDB (redis-server) at ``url``."""

    name = "falkordb"

    def __init__(self, url: str, graph_name: str = GRAPH_NAME):
        self._db = FalkorDB.from_url(url)
        self._graph = self._db.select_graph(graph_name)

    async def run(
        self, cypher: str, params: Mapping[str, Any] | None = None
    ) -> list[Row]:
        try:
            result = await self._graph.query(cypher, params=dict(params or {}))
        except (RedisError, OSError) as exc:
            raise GraphError(
                "The graph database cannot run the query",
                details={"backend": self.name, "error": type(exc).__name__},
            ) from exc
        columns = [column[1] for column in result.header]
        return [dict(zip(columns, row, strict=True)) for row in result.result_set]

    async def ensure_indexes(self) -> None:
        """An exact-match index and a unique constraint per identifying property."""
        for label, prop in INDEXES:
            try:
                await self._graph.query(f"CREATE INDEX FOR (n:{label}) ON (n.{prop})")
            except ResponseError as exc:
                if "already indexed" not in str(exc):
                    raise GraphError(
                        "The graph database refused an index",
                        details={"backend": self.name, "error": str(exc)},
                    ) from exc
            try:
                await self._graph.create_node_unique_constraint(label, prop)
            except ResponseError as exc:
                if "already exists" not in str(exc).lower():
                    raise GraphError(
                        "The graph database refused a constraint",
                        details={"backend": self.name, "error": str(exc)},
                    ) from exc

    async def close(self) -> None:
        await self._db.aclose()
