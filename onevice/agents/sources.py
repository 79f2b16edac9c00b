"""The stores an agent reads, and a record of which it read.

A run gets a fresh :class:`Sources`. Each accessor hands out a store and notes
that the store was consulted, so ``data_sources`` in the answer names exactly
the stores the facts came from. Every store read takes the run's viewer, so
what an agent holds has passed the access policy (spec §4.3) already.
"""

from __future__ import annotations

import dataclasses

from onevice.storage.graph.films import FilmGraph
from onevice.storage.graph.port import Graph
from onevice.storage.projects import ProjectStore
from onevice.storage.talent import TalentStore

POSTGRESQL = "postgresql"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Stores:
    """The process's stores, opened once and shared by every run."""

    projects: ProjectStore
    talent: TalentStore
    graph: Graph
    #: "neo4j" or "falkordb", as ``data_sources`` names the graph
    graph_name: str


@dataclasses.dataclass
class Sources:
    """One run's access to the stores."""

    stores: Stores
    used: set[str] = dataclasses.field(default_factory=set)

    def projects(self) -> ProjectStore:
        """The company's projects (PostgreSQL)."""
        self.used.add(POSTGRESQL)
        return self.stores.projects

    def talent(self) -> TalentStore:
        """The people the company hires, and their calendars (PostgreSQL)."""
        self.used.add(POSTGRESQL)
        return self.stores.talent

    def graph(self) -> Graph:
        """The knowledge graph: films, people, companies, the company's work."""
        self.used.add(self.stores.graph_name)
        return self.stores.graph

    def films(self) -> FilmGraph:
        """Film credits in the knowledge graph."""
        return FilmGraph(self.graph())

    def names(self) -> tuple[str, ...]:
        """The stores consulted so far, in a stable order."""
        return tuple(sorted(self.used))
