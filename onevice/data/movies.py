"""Real film data into the knowledge graph: the CC0 ``movies.db`` of bokeh-sampledata.

About 17,000 films with their directors, writers, cast, genres, production
companies and box office. Names are normalised (Unicode NFKC, whitespace,
credits such as "(screenplay)" dropped) and people and companies are
deduplicated on a key that ignores case and accents. Everything is written with
``MERGE``, so importing twice changes nothing.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Final

from onevice.base.errors import OneViceError
from onevice.base.names import name_key
from onevice.storage.graph.port import Graph

SOURCE: Final = "bokeh-sampledata movies.db (CC0)"
_CREDIT: Final = re.compile(r"\s*\([^)]*\)")
_MISSING: Final = frozenset({"", "n/a", "none", "unknown"})
RELATIONS: Final = ("DIRECTED", "WROTE", "ACTED_IN")


class MovieDataMissing(OneViceError):
    """The bokeh-sampledata package, or its movies.db, is not installed."""


@dataclasses.dataclass(frozen=True)
class Film:
    """One film as the importer writes it."""

    id: str
    title: str
    year: int | None
    genres: tuple[str, ...]
    directors: tuple[str, ...]
    writers: tuple[str, ...]
    cast: tuple[str, ...]
    companies: tuple[str, ...]
    box_office: float | None


@dataclasses.dataclass(frozen=True)
class ImportSummary:
    films: int
    people: int
    companies: int
    genres: int


def movies_db() -> Path:
    """Where bokeh-sampledata keeps movies.db; MovieDataMissing if nowhere."""
    try:
        path = Path(str(resources.files("bokeh_sampledata") / "_data" / "movies.db"))
    except ModuleNotFoundError:
        raise MovieDataMissing(
            "The film data comes from the bokeh-sampledata package, which is not "
            "installed: pip install bokeh-sampledata"
        ) from None
    if not path.exists():
        raise MovieDataMissing(f"bokeh-sampledata has no movies.db at {path}")
    return path


def normalize_name(raw: str) -> str:
    """A display name: NFKC, credits like "(novel)" dropped, single spaces."""
    text = _CREDIT.sub("", unicodedata.normalize("NFKC", raw))
    return " ".join(text.split())


def split_names(raw: str | None) -> tuple[str, ...]:
    """The distinct names of a comma-separated credit list, in order."""
    names: dict[str, str] = {}
    for part in (raw or "").split(","):
        name = normalize_name(part)
        if name.casefold() not in _MISSING:
            names.setdefault(name_key(name), name)
    return tuple(names.values())


def read_films(path: Path, years: tuple[int, int] | None = None) -> Iterator[Film]:
    """The films of ``movies.db``, optionally only those of a span of years."""
    query = (
        'SELECT o.imdbID, o.Title, o.Year, o.Genre, o.Director, o.Writer, o."Cast",'
        " t.Production, t.BoxOffice FROM omdb o LEFT JOIN tomatoes t ON t.ID = o.ID"
    )
    params: tuple[int, ...] = ()
    if years is not None:
        query += " WHERE o.Year BETWEEN ? AND ?"
        params = years
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        for row in conn.execute(query + " ORDER BY o.imdbID", params):
            imdb_id, title, year, genre, director, writer, cast, company, box = row
            if not imdb_id or not title:
                continue
            yield Film(
                id=str(imdb_id),
                title=normalize_name(str(title)),
                year=int(year) if year else None,
                genres=split_names(genre),
                directors=split_names(director),
                writers=split_names(writer),
                cast=split_names(cast),
                companies=split_names(company),
                box_office=float(box) if box else None,
            )


async def import_films(
    graph: Graph,
    films: Iterable[Film],
    *,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Write ``films`` and everyone credited on them into ``graph`` (idempotent)."""
    await graph.ensure_indexes()
    batch: list[Film] = []
    count = 0
    for film in films:
        batch.append(film)
        if len(batch) == batch_size:
            count += await _write(graph, batch)
            batch = []
            if progress:
                progress(count)
    if batch:
        count += await _write(graph, batch)
        if progress:
            progress(count)
    return await _summary(graph)


async def _write(graph: Graph, films: Sequence[Film]) -> int:
    await graph.run(
        "UNWIND $films AS f MERGE (w:Work {id: f.id})"
        " SET w.title = f.title, w.year = f.year, w.box_office = f.box_office,"
        " w.source = $source",
        {
            "films": [
                {
                    "id": f.id,
                    "title": f.title,
                    "year": f.year,
                    "box_office": f.box_office,
                }
                for f in films
            ],
            "source": SOURCE,
        },
    )
    credits = {
        "DIRECTED": [(f.id, name) for f in films for name in f.directors],
        "WROTE": [(f.id, name) for f in films for name in f.writers],
        "ACTED_IN": [(f.id, name) for f in films for name in f.cast],
    }
    for relation, pairs in credits.items():
        await graph.run(
            "UNWIND $pairs AS pair MATCH (w:Work {id: pair.work})"
            " MERGE (p:Person {key: pair.key}) ON CREATE SET p.name = pair.name"
            f" MERGE (p)-[:{relation}]->(w)",
            {"pairs": _pairs(pairs)},
        )
    await graph.run(
        "UNWIND $pairs AS pair MATCH (w:Work {id: pair.work})"
        " MERGE (c:Company {key: pair.key}) ON CREATE SET c.name = pair.name"
        " MERGE (c)-[:PRODUCED]->(w)",
        {"pairs": _pairs([(f.id, name) for f in films for name in f.companies])},
    )
    await graph.run(
        "UNWIND $pairs AS pair MATCH (w:Work {id: pair.work})"
        " MERGE (g:Genre {name: pair.name}) MERGE (w)-[:IN_GENRE]->(g)",
        {"pairs": _pairs([(f.id, name) for f in films for name in f.genres])},
    )
    return len(films)


def _pairs(pairs: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"work": work, "key": name_key(name), "name": name} for work, name in pairs]


async def _summary(graph: Graph) -> ImportSummary:
    """How many films, people, companies and genres the graph holds now."""
    counts = {}
    for label in ("Work", "Person", "Company", "Genre"):
        rows = await graph.run(f"MATCH (n:{label}) RETURN count(n) AS n")
        counts[label] = int(rows[0]["n"])
    return ImportSummary(
        counts["Work"], counts["Person"], counts["Company"], counts["Genre"]
    )
