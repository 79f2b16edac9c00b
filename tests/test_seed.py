"""`onevice seed`: the film data into an empty graph, once."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from onevice import cli
from onevice.base.settings import Settings
from onevice.data.movies import movies_db
from onevice.services.access import DEFAULT_ORG
from onevice.storage.db import open_pool
from onevice.storage.graph.falkor import FalkorGraph
from onevice.storage.projects import ProjectStore
from tests.fix_services import Isolate


@pytest.fixture(scope="module")
async def seeded(isolate: Isolate) -> Settings:
    """A Redis database of its own, seeded once by the CLI (off the event loop)."""
    settings = await isolate()
    code = await asyncio.to_thread(seed_cli, settings)
    assert code == 0
    return settings


def seed_cli(settings: Settings, *args: str) -> int:
    """Run `onevice seed` with ``settings`` as its environment."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.to_environ().items():
            patch.setenv(name, value)
        return cli.main(["seed", *args])


async def test_seed_imports_every_film(seeded: Settings) -> None:
    """Every distinct film of movies.db is in the graph, with its directors."""
    with sqlite3.connect(movies_db()) as conn:
        (distinct,) = conn.execute(
            "SELECT count(DISTINCT imdbID) FROM omdb WHERE Title IS NOT NULL"
        ).fetchone()
    graph = FalkorGraph(seeded.require_redis_url())
    films = await graph.run("MATCH (w:Work) RETURN count(w) AS n")
    directed = await graph.run(
        "MATCH (:Person)-[:DIRECTED]->(w:Work) RETURN count(w) AS n"
    )
    await graph.close()
    assert films[0]["n"] == distinct
    assert directed[0]["n"] > 15000


async def test_seed_if_empty_leaves_a_seeded_graph_alone(
    seeded: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """--if-empty on a graph that holds data imports nothing and says so."""
    code = await asyncio.to_thread(seed_cli, seeded, "--if-empty")
    assert code == 0
    assert "nothing imported" in capsys.readouterr().out


async def test_seed_generates_the_company_projects(seeded: Settings) -> None:
    """The dev organisation gets the 60 synthetic projects, listed by the API."""
    async with open_pool(seeded.require_database_url()) as pool:
        count = await ProjectStore(pool).count(DEFAULT_ORG)
    assert count == 60


async def test_seed_stores_the_talent_with_bookings(seeded: Settings) -> None:
    """The 40 synthetic people are stored, some with bookings."""
    async with (
        open_pool(seeded.require_database_url()) as pool,
        pool.connection() as conn,
    ):
        cursor = await conn.execute(
            "SELECT (SELECT count(*) FROM talent) AS people,"
            " (SELECT count(*) FROM talent_bookings) AS bookings"
        )
        row = await cursor.fetchone()
    assert row is not None and row["people"] == 40 and row["bookings"] > 0


async def test_seed_mirrors_the_company_into_the_graph(seeded: Settings) -> None:
    """Projects, clients and teams are in the graph, with tiers and no amounts."""
    graph = FalkorGraph(seeded.require_redis_url())
    projects = await graph.run(
        "MATCH (p:Project)-[:FOR_CLIENT]->(:Client) RETURN count(p) AS n,"
        " collect(p.budget_amount) AS amounts, collect(p.budget_tier) AS tiers"
    )
    worked_on = await graph.run(
        "MATCH (:Talent)-[w:WORKED_ON]->(:Project) RETURN count(w) AS n"
    )
    await graph.close()
    assert projects[0]["n"] == 60
    assert projects[0]["amounts"] == [] and len(projects[0]["tiers"]) == 60
    assert worked_on[0]["n"] == 180


async def test_seed_signs_artists_to_labels_in_the_graph(seeded: Settings) -> None:
    """Artists are in PostgreSQL and in the graph, signed to labels, on their videos."""
    async with (
        open_pool(seeded.require_database_url()) as pool,
        pool.connection() as conn,
    ):
        cursor = await conn.execute(
            "SELECT (SELECT count(*) FROM artists) AS artists,"
            " (SELECT count(*) FROM projects WHERE type = 'Music Video') AS videos"
        )
        stored = await cursor.fetchone()
    graph = FalkorGraph(seeded.require_redis_url())
    signed = await graph.run(
        "MATCH (:Artist)-[:SIGNED_TO]->(c:Client) WHERE c.kind = 'label'"
        " RETURN count(c) AS n"
    )
    featured = await graph.run(
        "MATCH (:Artist)-[f:FEATURED_IN]->(:Project) RETURN count(f) AS n"
    )
    await graph.close()
    assert stored is not None and stored["artists"] == 8
    assert signed[0]["n"] == 8
    assert featured[0]["n"] == stored["videos"]
