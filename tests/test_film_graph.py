"""The film data in the graph: known answers computed straight from movies.db."""

from __future__ import annotations

import collections
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator

import pytest

from onevice.base.names import name_key
from onevice.base.settings import Settings
from onevice.data.movies import import_films, movies_db, read_films
from onevice.services.access import Viewer
from onevice.storage.graph.falkor import FalkorGraph
from onevice.storage.graph.films import FilmGraph
from onevice.storage.graph.neo4j import Neo4jGraph
from onevice.storage.graph.port import Graph, GraphError

YEARS = (2000, 2002)
VIEWER = Viewer(sub="user_films", role="Salesperson", org_id="org")


@pytest.fixture(scope="module", params=["falkordb", "neo4j"])
async def graph(
    request: pytest.FixtureRequest, settings: Settings
) -> AsyncIterator[Graph]:
    """A graph of its own on each backend, holding the films of 2000-2002."""
    graph: Graph
    if request.param == "neo4j":
        graph = Neo4jGraph(request.getfixturevalue("neo4j_uri"))
    else:
        graph = FalkorGraph(
            settings.require_redis_url(), f"films_{uuid.uuid4().hex[:6]}"
        )
    await import_films(graph, read_films(movies_db(), YEARS))
    yield graph
    await graph.run("MATCH (n) DETACH DELETE n")
    await graph.close()


def raw_rows() -> list[tuple[str, str, str, str]]:
    """(id, director, writer, cast) straight from SQLite, for independent answers."""
    with sqlite3.connect(movies_db()) as conn:
        return conn.execute(
            'SELECT imdbID, Director, Writer, "Cast" FROM omdb'
            " WHERE Year BETWEEN ? AND ?",
            YEARS,
        ).fetchall()


def names(field: str | None) -> set[str]:
    return {
        re.sub(r"\s*\(.*?\)", "", part).strip()
        for part in (field or "").split(",")
        if part.strip() and part.strip() != "N/A"
    }


async def test_a_directors_films_match_the_source(graph: Graph) -> None:
    """Ridley Scott's films of 2000-2002 in the graph are those in movies.db."""
    expected = {row[0] for row in raw_rows() if "Ridley Scott" in names(row[1])}
    found = await FilmGraph(graph).films_directed_by(VIEWER, name_key("Ridley Scott"))
    assert expected and {film["id"] for film in found} == expected


async def test_most_frequent_collaborators_match_the_source(graph: Graph) -> None:
    """The top collaborators of a prolific actor match a count made from SQLite."""
    person = "Samuel L. Jackson"
    shared: collections.Counter[str] = collections.Counter()
    for _, director, writer, cast in raw_rows():
        credited = names(director) | names(writer) | names(cast)
        if person in credited:
            shared.update(credited - {person})
    found = await FilmGraph(graph).collaborators(VIEWER, name_key(person), limit=50)
    top = max(shared.values())
    expected_top = {name for name, n in shared.items() if n == top}
    assert {row["name"] for row in found if row["shared"] == top} == expected_top


async def test_importing_twice_changes_nothing(graph: Graph) -> None:
    """A second import of the same films leaves node and edge counts as they were."""

    async def counts() -> tuple[int, int]:
        nodes = await graph.run("MATCH (n) RETURN count(n) AS n")
        edges = await graph.run("MATCH ()-[r]->() RETURN count(r) AS n")
        return nodes[0]["n"], edges[0]["n"]

    before = await counts()
    await import_films(graph, read_films(movies_db(), YEARS))
    assert await counts() == before


def test_names_are_normalised_and_deduplicated() -> None:
    """Credits are dropped, spaces collapsed, and keys ignore case and accents."""
    assert name_key("Cristián  de la Fuente") == name_key("cristian de la fuente")
    film = next(read_films(movies_db(), (2003, 2003)))
    assert all("(" not in writer for writer in film.writers)


async def test_identifying_properties_are_unique(graph: Graph) -> None:
    """Creating a second film with an existing id is refused by the database."""
    existing = (await graph.run("MATCH (w:Work) RETURN w.id AS id LIMIT 1"))[0]["id"]
    with pytest.raises(GraphError):
        await graph.run("CREATE (:Work {id: $id})", {"id": existing})
