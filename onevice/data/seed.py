"""``onevice seed``: fill the stores with the data the agents reason over.

What it loads: the real film data (bokeh-sampledata's CC0 movies.db) into the
knowledge graph, and the production company's synthetic projects (see
``company``) into PostgreSQL for the organisation of the dev tokens. Each part
is skipped with ``if_empty`` when its store already holds data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys

from tqdm import tqdm

from onevice.base.settings import Settings
from onevice.data.company import BRANDS, LABELS, Company, generate
from onevice.data.mirror import mirror_company
from onevice.data.movies import ImportSummary, import_films, movies_db, read_films
from onevice.services.access import DEFAULT_ORG
from onevice.storage.db import Pool, open_pool
from onevice.storage.graph.connect import open_graph
from onevice.storage.graph.port import Graph
from onevice.storage.projects import ProjectStore
from onevice.storage.talent import TalentStore

#: Seed of the synthetic company data: the same projects on every machine.
COMPANY_SEED = 7
#: The dev users put on projects, as the dev stack's banner tokens name them.
DEV_ASSIGNED = {
    "director": "dev_director",
    "creative_director": "dev_creative_director",
}


@dataclasses.dataclass(frozen=True)
class SeedReport:
    """What a seed did; None for a part that was skipped (its store held data)."""

    films: ImportSummary | None
    projects: int | None


async def is_empty(graph: Graph) -> bool:
    rows = await graph.run("MATCH (n) RETURN count(n) AS n")
    return int(rows[0]["n"]) == 0


async def seed(
    settings: Settings, *, reset: bool = False, if_empty: bool = False
) -> SeedReport:
    """Load the film data and the company's projects; ``reset`` replaces them."""
    films = await seed_films(settings, reset=reset, if_empty=if_empty)
    projects = None
    if settings.database_url:
        projects = await seed_company(settings, reset=reset, if_empty=if_empty)
    return SeedReport(films=films, projects=projects)


def company() -> Company:
    """The synthetic company every seed generates."""
    return generate(
        seed=COMPANY_SEED,
        org_id=DEFAULT_ORG,
        assigned=DEV_ASSIGNED,
        today=dt.date.today(),
    )


async def seed_company(
    settings: Settings, *, reset: bool, if_empty: bool
) -> int | None:
    """The synthetic projects and talent of the dev organisation.

    Stored in PostgreSQL (the system of record) and mirrored into the graph.
    """
    pool = open_pool(settings.require_database_url())
    await pool.open()
    try:
        store, talent = ProjectStore(pool), TalentStore(pool)
        if reset:
            await store.delete_all(DEFAULT_ORG)
            await talent.delete_all(DEFAULT_ORG)
            async with pool.connection() as conn:
                for table in ("artists", "clients"):
                    await conn.execute(
                        f"DELETE FROM {table} WHERE org_id = %s",  # noqa: S608
                        (DEFAULT_ORG,),
                    )
        elif if_empty and await store.count(DEFAULT_ORG):
            return None
        made = company()
        await store_artists(pool, made)
        for person in made.talent:
            await talent.create(person)
        for project in tqdm(
            made.projects, desc="projects", file=sys.stderr, leave=False
        ):
            await store.create(project)
    finally:
        await pool.close()
    graph = open_graph(settings)
    try:
        await mirror_company(graph, made)
    finally:
        await graph.close()
    return len(made.projects)


async def store_artists(pool: Pool, made: Company) -> None:
    """The clients (brands and labels) and the artists signed to the labels."""
    source = f"synthetic (seed {COMPANY_SEED})"
    async with pool.connection() as conn, conn.transaction():
        for number, (name, kind) in enumerate(
            [(brand, "brand") for brand in BRANDS] + [(lab, "label") for lab in LABELS],
            start=1,
        ):
            await conn.execute(
                "INSERT INTO clients (id, org_id, name, kind, source)"
                " VALUES (%s, %s, %s, %s, %s)",
                (f"client_{number:02d}", DEFAULT_ORG, name, kind, source),
            )
        for artist in made.artists:
            await conn.execute(
                "INSERT INTO artists (id, org_id, name, label, genre, source)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    artist.id,
                    DEFAULT_ORG,
                    artist.name,
                    artist.label,
                    artist.genre,
                    source,
                ),
            )


async def seed_films(
    settings: Settings, *, reset: bool, if_empty: bool
) -> ImportSummary | None:
    """The film data in the graph."""
    path = movies_db()  # a clear error before anything is touched
    graph = open_graph(settings)
    try:
        if reset:
            await graph.run("MATCH (n) DETACH DELETE n")
        elif if_empty and not await is_empty(graph):
            return None
        films = list(read_films(path))
        with tqdm(
            total=len(films), desc="films", unit="film", file=sys.stderr, leave=False
        ) as bar:

            def advance(done: int) -> None:
                bar.update(done - bar.n)

            return await import_films(graph, films, progress=advance)
    finally:
        await graph.close()
