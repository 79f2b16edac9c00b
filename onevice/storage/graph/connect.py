"""Opening the configured graph backend: Neo4j when ``NEO4J_URI`` is set."""

from __future__ import annotations

from onevice.base.settings import Settings
from onevice.storage.graph.falkor import FalkorGraph
from onevice.storage.graph.neo4j import Neo4jGraph
from onevice.storage.graph.port import Graph


def open_graph(settings: Settings) -> Graph:
    """The configured graph backend."""
    if settings.neo4j_uri:
        return Neo4jGraph(
            settings.neo4j_uri,
            user=settings.neo4j_user,
            password=settings.neo4j_password,
        )
    return FalkorGraph(settings.require_redis_url())


def backend_name(settings: Settings) -> str:
    """The name of the graph store, as ``data_sources`` report it."""
    return "neo4j" if settings.neo4j_uri else "falkordb"
