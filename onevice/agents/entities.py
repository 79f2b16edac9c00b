"""Finding the people, artists and companies a question names, in the graph.

Names come from two places: the values of the request's context (a client,
an artist), and the runs of capitalised words in the question ("Research Juno
Vale for a pitch" names "Juno Vale"). Each name is looked up in three passes:

1. exact: a node whose name is the name as written;
2. normalised: a node whose key (``name_key``: no case, accents or punctuation)
   is the name's key;
3. fuzzy: among nodes whose key contains one of the name's longer words, the
   closest by ``difflib`` similarity, if at least ``FUZZY_CUTOFF``.

A name that several nodes answer equally well (an artist and a film person of
the same name, two fuzzy candidates within ``TIE_MARGIN``) is resolved to the
most connected (the most relationships in the graph) and reported as
ambiguous with the alternatives. A name nothing answers
is reported as not found; the agent says so rather than guessing.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

from onevice.agents.confidence import match_quality
from onevice.base.names import name_key
from onevice.services.access import Viewer
from onevice.storage.graph.port import Graph

#: Node labels that stand for something a salesperson researches, and the
#: entity type each is reported as.
KINDS: Final = {
    "Artist": "Artist",
    "Client": "Client",
    "Person": "Person",
    "Company": "Production Company",
    "Talent": "Talent",
}
FUZZY_CUTOFF: Final = 0.85
TIE_MARGIN: Final = 0.02
#: Capitalised words that start questions rather than name anyone.
_QUESTION_WORDS: Final = """
    a an and any are brief can compare could do find for get give how i in is it
    list look me music my of on our please prepare research show summarise
    summarize tell the their they this to us video we what when where which who
    whom why with would commercial pitch project
"""
_NOT_NAMES: Final = frozenset(_QUESTION_WORDS.split())
_CAPITALISED_RUN: Final = re.compile(
    r"(?:[A-Z0-9][\w'.-]*)(?:\s+(?:[A-Z0-9][\w'.-]*|of|the|de|van|von))*"
)


@dataclasses.dataclass(frozen=True)
class Entity:
    """A node that answers a name."""

    kind: str
    label: str
    name: str
    #: ``key`` for keyed nodes, ``id`` for the company's talent
    ref: str


@dataclasses.dataclass(frozen=True)
class Resolution:
    """What a name resolved to, how well, and what else it could mean."""

    asked: str
    entity: Entity | None
    how: str  # exact, normalised, fuzzy or none
    similarity: float = 0.0
    alternatives: tuple[Entity, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return bool(self.alternatives)

    @property
    def quality(self) -> float:
        return match_quality(self.how, self.similarity, ambiguous=self.ambiguous)

    def report(self) -> dict[str, Any]:
        """The resolution as the answer shows it."""
        shown: dict[str, Any] = {
            "asked": self.asked,
            "match": self.how,
            "found": self.entity.name if self.entity else None,
            "type": self.entity.kind if self.entity else None,
        }
        if self.how == "fuzzy":
            shown["similarity"] = round(self.similarity, 2)
        if self.alternatives:
            shown["ambiguous"] = True
            shown["alternatives"] = [
                {"name": e.name, "type": e.kind} for e in self.alternatives
            ]
        return shown


def names_in(text: str) -> list[str]:
    """The names a question seems to mention: runs of capitalised words."""
    names: list[str] = []
    for run in _CAPITALISED_RUN.findall(text):
        words = run.split()
        while words and _not_a_name(words[0]):
            words.pop(0)
        while words and _not_a_name(words[-1]):
            words.pop()
        name = " ".join(words).strip(".")
        if name and name_key(name) and name not in names:
            names.append(name)
    return names


def _not_a_name(word: str) -> bool:
    folded = word.casefold().strip(".,;:!?")
    return folded in _NOT_NAMES or folded.removesuffix("'s") in _NOT_NAMES


class EntityFinder:
    """Looks names up in the graph, for one viewer."""

    def __init__(self, graph: Graph, viewer: Viewer):
        self.graph = graph
        self.viewer = viewer

    async def known_names_in(self, text: str) -> list[str]:
        """Artists and clients whose names the text contains, whatever the case.

        Questions typed in lower case name no capitalised words; the company's
        artists and clients are few, so each is looked for in the text.
        """
        rows = await self.graph.run(
            "MATCH (n) WHERE n:Artist OR n:Client RETURN n.name AS name, n.key AS key"
        )
        padded = f" {name_key(text)} "
        return sorted(
            (row["name"] for row in rows if f" {row['key']} " in padded),
            key=lambda name: padded.index(f" {name_key(name)} "),
        )

    async def resolve_all(self, names: Iterable[str]) -> list[Resolution]:
        """Each distinct name resolved (by key), in the order given."""
        seen: dict[str, Resolution] = {}
        for name in names:
            key = name_key(name)
            if key and key not in seen:
                seen[key] = await self.resolve(name)
        return list(seen.values())

    async def resolve(self, name: str) -> Resolution:
        """Exact, then normalised, then fuzzy; see the module docs."""
        found = await self._by_key(name_key(name))
        if found:
            exact = [e for e in found if e.name == name]
            how = "exact" if exact else "normalised"
            ranked = await self._by_weight(exact) + await self._by_weight(
                [e for e in found if e not in exact]
            )
            return Resolution(name, ranked[0], how, 1.0, tuple(ranked[1:]))
        return await self._fuzzy(name)

    async def _by_weight(self, entities: list[Entity]) -> list[Entity]:
        """Equally good matches, the most connected first (then by kind)."""
        if len(entities) < 2:
            return entities
        weights = {}
        for entity in entities:
            prop = "id" if entity.label == "Talent" else "key"
            rows = await self.graph.run(
                f"MATCH (n:{entity.label} {{{prop}: $ref}})-[r]-()"
                " RETURN count(r) AS degree",
                {"ref": entity.ref},
            )
            weights[entity] = int(rows[0]["degree"]) if rows else 0
        return sorted(entities, key=lambda e: (-weights[e], e.label))

    async def _by_key(self, key: str) -> list[Entity]:
        entities: list[Entity] = []
        for label in ("Artist", "Client", "Company", "Person"):
            rows = await self.graph.run(
                f"MATCH (n:{label} {{key: $key}}) RETURN n.name AS name LIMIT 1",
                {"key": key},
            )
            entities += [Entity(KINDS[label], label, r["name"], key) for r in rows]
        rows = await self.graph.run(
            "MATCH (t:Talent) WHERE t.org_id = $org RETURN t.id AS id, t.name AS name",
            {"org": self.viewer.org_id},
        )
        entities += [
            Entity("Talent", "Talent", r["name"], r["id"])
            for r in rows
            if name_key(r["name"]) == key
        ]
        return entities

    async def _fuzzy(self, name: str) -> Resolution:
        key = name_key(name)
        # Candidates share the start of one of the name's two longest words,
        # which survives most typos at the end of a word.
        words = sorted((w for w in key.split() if len(w) >= 4), key=len, reverse=True)
        if not words:
            return Resolution(name, None, "none")
        candidates: dict[tuple[str, str], Entity] = {}
        for label in ("Artist", "Client", "Company", "Person"):
            for word in words[:2]:
                rows = await self.graph.run(
                    f"MATCH (n:{label}) WHERE n.key CONTAINS $part"
                    " RETURN n.name AS name, n.key AS key LIMIT 200",
                    {"part": word[:4]},
                )
                for row in rows:
                    entity = Entity(KINDS[label], label, row["name"], row["key"])
                    candidates[(label, row["key"])] = entity
        scored = sorted(
            (
                (difflib.SequenceMatcher(None, key, ref).ratio(), entity)
                for (_, ref), entity in candidates.items()
            ),
            key=lambda pair: (-pair[0], pair[1].name),
        )
        if not scored or scored[0][0] < FUZZY_CUTOFF:
            return Resolution(name, None, "none")
        best, entity = scored[0]
        ties = _ties(scored, best)
        return Resolution(name, entity, "fuzzy", best, tuple(ties))


def _ties(scored: Sequence[tuple[float, Entity]], best: float) -> list[Entity]:
    return [entity for score, entity in scored[1:] if best - score <= TIE_MARGIN]
