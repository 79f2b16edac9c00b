"""How much a past project resembles what a pitch asks for: one measure.

The Case Study agent ranks past projects with it, and Bidding Support finds
comparable projects with it. A pitch is a :class:`Wanted`; every field left
``None`` (or no words) means "any" and takes no part in the score.

The measure
-----------

The score of a project is the weighted average of its aspect scores, over the
aspects the pitch names only (an aspect not asked for neither helps nor hurts)::

    score = sum(weight[a] * aspect[a]) / sum(weight[a])    for a asked for

=========  ======  ==========================================================
aspect     weight  aspect score (0 to 1)
=========  ======  ==========================================================
type       2       1 if the project's ``type`` is the one asked for, else 0
genre      2       1 if its ``genre`` is the one asked for, else 0 (a project
                   without a genre, such as a commercial, scores 0)
budget     2       by budget tier (``policy.BUDGET_TIERS``): 1 if the project's
                   tier is one the wanted range reaches, 0.5 if it is the tier
                   next to them, else 0. Tiers, not amounts, because the
                   catalog hides amounts from some viewers but always shows
                   ``budget.tier``; both ends of the range count, the upper one
                   exclusive like the tiers' own bounds ("$100k-300k" is
                   exactly the tier "$100k-300k")
year       1       1 if its ``year`` is inside the span, 0.5 one year outside,
                   else 0
director   2       1 if ``team.director`` is the name asked for, else 0
client     2       1 if its ``client`` is the name asked for, else 0
words      1       the share of the pitch's *known* words that the project's
                   name, client, artist, genre and type contain
=========  ======  ==========================================================

Names and labels (type, genre, director, client) compare by :func:`name_key`:
case, accents and punctuation do not matter. Year and the loose words weigh
less because they are softer evidence than the pitch's explicit filters.

Words: :func:`words_of` keeps the lowercase words of the query text that start
with a letter, drops stop words (English and search filler such as "find",
"similar", "projects"), and folds a plural "s". A word is *known* when at
least one of the ranked projects contains it; words no project contains
("viral", "moody") cannot tell projects apart and are left out, so they do
not drag every score down. If none of the pitch's words is known, the words
aspect is not counted, as if no words were given.

Nothing asked: when the pitch names no aspect (and no known word), there is
nothing to score by: every project scores 0 with no aspects, and the caller
should say that no criteria were given.

A :class:`Match` lists in ``aspects`` the aspects that matched fully (score 1),
and "words" when at least one known word matched; ``aspect_scores`` gives every
counted aspect's score. Scores are rounded to two places, and :func:`rank`
orders by the rounded score, best first, then by project id.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Final

from onevice.base.names import name_key
from onevice.services.policy import BUDGET_TIERS, budget_tier

WEIGHTS: Final[Mapping[str, float]] = {
    "type": 2.0,
    "genre": 2.0,
    "budget": 2.0,
    "year": 1.0,
    "director": 2.0,
    "client": 2.0,
    "words": 1.0,
}
#: Aspect score of a budget tier next to the wanted ones, or a year next to the span.
NEAR: Final = 0.5
TIER_LABELS: Final = tuple(label for _, label in BUDGET_TIERS)

_WORD: Final = re.compile(r"(?<![a-z0-9])[a-z][a-z0-9]*(?:[&'-][a-z0-9]+)*")
#: English function words, dropped from queries.
_FUNCTION_WORDS: Final = (
    "a about after all also an and any are as at be been before but by can could"
    " do does for from had has have he her his how i if in into is it its just me"
    " more most my no not of on or our out over she so some such than that the"
    " their them then there these they this those to under up us was we were what"
    " when where which who whom why will with would you your"
)
#: What people type around a search, which says nothing about the project.
_SEARCH_WORDS: Final = (
    "budget case compare comparable example find get give like list look looking"
    " need past pitch previous project range recent search show similar studies"
    " study want"
)
STOP_WORDS: Final = frozenset(_FUNCTION_WORDS.split()) | frozenset(
    _SEARCH_WORDS.split()
)


@dataclasses.dataclass(frozen=True)
class Wanted:
    """What a pitch asks for; None means "any"."""

    project_type: str | None = None
    genre: str | None = None
    #: dollars; an upper bound of None means no cap
    budget: tuple[int, int | None] | None = None
    years: tuple[int, int] | None = None
    director: str | None = None
    client: str | None = None
    #: creative attributes from the query text (see ``words_of``)
    words: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class Match:
    """A project, how much it resembles the pitch, and on which aspects."""

    #: the catalog item, unchanged
    project: dict[str, Any]
    #: 0 to 1, rounded to two places
    score: float
    #: the aspects that matched, in the order of ``WEIGHTS``
    aspects: tuple[str, ...]
    #: (aspect, score) for every aspect the pitch asked for
    aspect_scores: tuple[tuple[str, float], ...] = ()


def rank(projects: Iterable[Mapping[str, Any]], wanted: Wanted) -> list[Match]:
    """Every project scored against ``wanted``: best first, ties by project id."""
    items = list(projects)
    vocabularies = [project_words(item) for item in items]
    known = _known(wanted.words, vocabularies)
    matches = [
        _match(item, wanted, known, vocabulary)
        for item, vocabulary in zip(items, vocabularies, strict=True)
    ]
    return sorted(matches, key=lambda m: (-m.score, str(m.project.get("id"))))


def words_of(text: str) -> frozenset[str]:
    """The meaningful lowercase words of a query (stop words dropped)."""
    found = [word for word in _WORD.findall(_fold(text)) if word not in STOP_WORDS]
    return frozenset(_singular(word) for word in found) - STOP_WORDS


def known_words(
    projects: Iterable[Mapping[str, Any]], words: frozenset[str]
) -> frozenset[str]:
    """The ``words`` that at least one of ``projects`` contains: those that count."""
    return _known(words, [project_words(project) for project in projects])


def project_words(project: Mapping[str, Any]) -> frozenset[str]:
    """The words a project can be found by: name, client, artist, genre, type."""
    fields = ("name", "client", "artist", "genre", "type")
    return words_of(" ".join(str(project.get(f) or "") for f in fields))


def asked_aspects(wanted: Wanted) -> tuple[str, ...]:
    """The aspects other than words that ``wanted`` names, in ``WEIGHTS`` order."""
    named = {
        "type": wanted.project_type,
        "genre": wanted.genre,
        "budget": wanted.budget,
        "year": wanted.years,
        "director": wanted.director,
        "client": wanted.client,
    }
    return tuple(aspect for aspect, value in named.items() if value is not None)


def tier_span(budget: tuple[int, int | None]) -> tuple[int, int]:
    """The first and last tier (indexes into ``BUDGET_TIERS``) a range reaches."""
    low, high = budget
    first = TIER_LABELS.index(budget_tier(low))
    if high is None:
        return first, len(TIER_LABELS) - 1
    return first, TIER_LABELS.index(budget_tier(max(low, high - 1)))


def budget_score(project: Mapping[str, Any], budget: tuple[int, int | None]) -> float:
    """1 inside the wanted tiers, ``NEAR`` for the next tier out, else 0."""
    tier = _tier_of(project)
    if tier is None:
        return 0.0
    first, last = tier_span(budget)
    index = TIER_LABELS.index(tier)
    return _by_distance(max(first - index, index - last, 0))


def year_score(project: Mapping[str, Any], years: tuple[int, int]) -> float:
    """1 inside the span, ``NEAR`` a year outside it, else 0."""
    year = project.get("year")
    if not isinstance(year, int):
        return 0.0
    start, end = years
    return _by_distance(max(start - year, year - end, 0))


def _known(words: frozenset[str], vocabularies: list[frozenset[str]]) -> frozenset[str]:
    return frozenset(w for w in words if any(w in v for v in vocabularies))


def _match(
    project: Mapping[str, Any],
    wanted: Wanted,
    known: frozenset[str],
    vocabulary: frozenset[str],
) -> Match:
    scores = [(a, _aspect_score(project, wanted, a)) for a in asked_aspects(wanted)]
    matched_words = known & vocabulary
    if known:
        scores.append(("words", len(matched_words) / len(known)))
    total_weight = sum(WEIGHTS[aspect] for aspect, _ in scores)
    weighted = sum(WEIGHTS[aspect] * score for aspect, score in scores)
    aspects = tuple(a for a, s in scores if s == 1.0 or (a == "words" and s > 0))
    return Match(
        project=dict(project),
        score=round(weighted / total_weight, 2) if total_weight else 0.0,
        aspects=aspects,
        aspect_scores=tuple((a, round(s, 2)) for a, s in scores),
    )


def _aspect_score(project: Mapping[str, Any], wanted: Wanted, aspect: str) -> float:
    if aspect == "budget" and wanted.budget is not None:
        return budget_score(project, wanted.budget)
    if aspect == "year" and wanted.years is not None:
        return year_score(project, wanted.years)
    wanted_name, found = {
        "type": (wanted.project_type, project.get("type")),
        "genre": (wanted.genre, project.get("genre")),
        "director": (wanted.director, (project.get("team") or {}).get("director")),
        "client": (wanted.client, project.get("client")),
    }[aspect]
    return float(_same_name(wanted_name, found))


def _same_name(wanted: str | None, found: Any) -> bool:
    if wanted is None or not isinstance(found, str):
        return False
    key = name_key(wanted)
    return bool(key) and key == name_key(found)


def _tier_of(project: Mapping[str, Any]) -> str | None:
    budget = project.get("budget") or {}
    tier = budget.get("tier")
    if tier in TIER_LABELS:
        return str(tier)
    amount = budget.get("amount")
    return budget_tier(amount) if isinstance(amount, int) else None


def _by_distance(steps: int) -> float:
    return {0: 1.0, 1: NEAR}.get(steps, 0.0)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _singular(word: str) -> str:
    """``videos`` → ``video``, ``drake's`` → ``drake``; "glass" and "bus" kept."""
    if word.endswith("'s"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
