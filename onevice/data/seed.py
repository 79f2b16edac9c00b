"""``onevice seed``: fill the stores with the data the agents reason over.

What it loads today: the real film data (bokeh-sampledata's CC0 movies.db) into
the knowledge graph. The production company's own synthetic data (clients,
projects, crew and calendars) is not generated yet; ``seed`` says so rather than
pretending.
"""

from __future__ import annotations

import dataclasses
import sys

from tqdm import tqdm

from onevice.base.settings import Settings, SettingsError
from onevice.data.movies import ImportSummary, import_films, movies_db, read_films
from onevice.storage.graph.falkor import FalkorGraph
from onevice.storage.graph.port import Graph


@dataclasses.dataclass(frozen=True)
class SeedReport:
    """What a seed did: skipped (the graph held data) or imported."""

    skipped: bool
    films: ImportSummary | None


def open_graph(settings: Settings) -> Graph:
    """The configured graph backend."""
    if settings.neo4j_uri:
        raise SettingsError(
            "seeding a Neo4j graph is not supported yet; unset NEO4J_URI to seed "
            "the embedded FalkorDB graph"
        )
    return FalkorGraph(settings.require_redis_url())


async def is_empty(graph: Graph) -> bool:
    rows = await graph.run("MATCH (n) RETURN count(n) AS n")
    return int(rows[0]["n"]) == 0


async def seed(
    settings: Settings, *, reset: bool = False, if_empty: bool = False
) -> SeedReport:
    """Import the film data; with ``reset`` clear the graph first."""
    path = movies_db()  # a clear error before anything is touched
    graph = open_graph(settings)
    try:
        if reset:
            await graph.run("MATCH (n) DETACH DELETE n")
        elif if_empty and not await is_empty(graph):
            return SeedReport(skipped=True, films=None)
        films = list(read_films(path))
        with tqdm(
            total=len(films), desc="films", unit="film", file=sys.stderr, leave=False
        ) as bar:

            def advance(done: int) -> None:
                bar.update(done - bar.n)

            summary = await import_films(graph, films, progress=advance)
        return SeedReport(skipped=False, films=summary)
    finally:
        await graph.close()
