"""The knowledge graph behind one port; FalkorDB is the embedded backend.

Queries keep to the Cypher that both FalkorDB and Neo4j run (``MERGE``,
``UNWIND``, ``id()`` rather than ``elementId()``, no ``shortestPath`` inside
``MATCH``), so the same text works on either backend.
"""

from onevice.storage.graph.port import Graph, GraphError

__all__ = ["Graph", "GraphError"]
