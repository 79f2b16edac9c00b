"""Benchmark of the projects API and the graph queries the agents use.

Starts the embedded stack (as ``bench.pipeline`` does), seeds the synthetic
projects and a decade of films, then measures:

- ``GET /projects`` (a page of 20) and ``GET /projects/{id}`` at a fixed
  concurrency: requests per second and p50/p99 latency, as Leadership (the
  detail with every field);
- the film graph's two questions (a director's films, a person's
  collaborators) at a fixed concurrency on FalkorDB and on Neo4j (started from
  the tests' launcher; left out with a message when Java or Maven is missing).

Run: ``python -m bench.projects`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import aiohttp

from bench.plan import QUICK_PLAN, Plan
from bench.report import Latency
from bench.stack import running_stack
from onevice.base.names import name_key
from onevice.data.company import generate
from onevice.data.movies import import_films, movies_db, read_films
from onevice.services.access import DEFAULT_ORG, Viewer
from onevice.storage.db import open_pool
from onevice.storage.graph.falkor import FalkorGraph
from onevice.storage.graph.films import FilmGraph
from onevice.storage.graph.neo4j import Neo4jGraph
from onevice.storage.graph.port import Graph
from onevice.storage.projects import ProjectStore
from tests.fix_neo4j import running_neo4j

YEARS = (2000, 2009)
VIEWER = Viewer(sub="bench", role="Leadership", org_id=DEFAULT_ORG)


@dataclasses.dataclass(frozen=True)
class Rate:
    """A measure under load: latencies and completed operations per second."""

    latency: Latency
    per_second: float

    def row(self) -> str:
        return f"{self.latency.row()}{self.per_second:>12.0f}/s"


async def under_load(
    label: str, work: Callable[[int], Awaitable[object]], total: int, concurrency: int
) -> Rate:
    """Run ``work(i)`` for i < total with ``concurrency`` in flight; time each."""
    samples: list[int] = []
    queue = iter(range(total))

    async def client() -> None:
        for index in queue:
            started = time.perf_counter_ns()
            await work(index)
            samples.append(time.perf_counter_ns() - started)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return Rate(Latency.of(label, samples), total / elapsed)


async def measure_api(port: int, tokens: Sequence[str], total: int) -> list[Rate]:
    """The list and detail endpoints, 20 requests in flight, one burst per user."""
    base = f"http://127.0.0.1:{port}"
    ids = [f"proj_s7_{n:03d}" for n in range(1, 61)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def get(path: str, index: int) -> None:
            # Each user stays inside the /projects burst (20), so nothing is 429.
            headers = {"Authorization": f"Bearer {tokens[index // 20]}"}
            async with http.get(f"{base}{path}", headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status}")

        listing = await under_load(
            "GET /projects (page of 20)",
            lambda i: get("/projects?filter=all&limit=20", i),
            total,
            20,
        )
        detail = await under_load(
            "GET /projects/{id}",
            lambda i: get(f"/projects/{ids[i % len(ids)]}", i + total),
            total,
            20,
        )
    return [listing, detail]


async def measure_graph(graph: Graph, total: int) -> list[Rate]:
    """A director's films and a person's collaborators, 10 queries in flight."""
    films = FilmGraph(graph)
    directors = [
        name_key(name)
        for film in read_films(movies_db(), YEARS)
        for name in film.directors
    ]
    actors = [
        name_key(name)
        for film in read_films(movies_db(), YEARS)
        for name in film.cast[:3]
    ]
    rng = random.Random(7)
    return [
        await under_load(
            f"{graph.name}: films directed by",
            lambda _i: films.films_directed_by(VIEWER, rng.choice(directors)),
            total,
            10,
        ),
        await under_load(
            f"{graph.name}: collaborators",
            lambda _i: films.collaborators(VIEWER, rng.choice(actors)),
            total,
            10,
        ),
    ]


async def fill_graph(graph: Graph) -> None:
    await graph.run("MATCH (n) DETACH DELETE n")
    await import_films(graph, read_films(movies_db(), YEARS))


async def run(plan: Plan, total: int, root: Path) -> list[Rate]:
    rates: list[Rate] = []
    async with running_stack(root, plan) as stack:
        async with open_pool(stack.settings.require_database_url()) as pool:
            store = ProjectStore(pool)
            for project in generate(seed=7, org_id=DEFAULT_ORG).projects:
                await store.create(project)
        tokens = [
            stack.issuer.mint(role="Leadership", sub=f"bench_{uuid.uuid4().hex[:8]}")
            for _ in range(total // 10 + 2)
        ]
        print("  measuring the projects API", flush=True)
        rates += await measure_api(stack.port, tokens, total)
        falkor = FalkorGraph(stack.settings.require_redis_url(), "bench_films")
        print("  importing films into FalkorDB and measuring", flush=True)
        await fill_graph(falkor)
        rates += await measure_graph(falkor, total)
        await falkor.close()
    rates += await neo4j_rates(total)
    return rates


async def neo4j_rates(total: int) -> list[Rate]:
    if shutil.which("java") is None or shutil.which("mvn") is None:
        print("  Neo4j left out: Java 17 and Maven are needed")
        return []
    with contextlib.ExitStack() as owned:
        uri = owned.enter_context(running_neo4j())
        graph = Neo4jGraph(uri)
        print("  importing films into Neo4j and measuring", flush=True)
        await fill_graph(graph)
        try:
            return await measure_graph(graph, total)
        finally:
            await graph.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    args = parser.parse_args()
    total = 200 if args.quick else 2000
    root = Path(tempfile.mkdtemp(prefix="onevice-bench-"))
    root.chmod(0o755)
    try:
        rates = asyncio.run(run(QUICK_PLAN if args.quick else Plan(), total, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    columns = f"{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'rate':>14}"
    print(f"\n{'measure':<46}{columns}")
    for rate in rates:
        print(rate.row())


if __name__ == "__main__":
    main()
