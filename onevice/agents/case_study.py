"""The Case Study agent: past projects that resemble a pitch, and a deck from them.

``POST /agents/case-study/query`` (spec §2.3). The agent reads every project of
the viewer's organisation through ``ProjectStore.catalog``, which has already
applied the viewer's budget rules (spec §4.3), scores each one against the
request's filters and query words with the measure of ``similarity``, and
answers with:

- ``matches``: projects scoring at least ``options.similarity_threshold``
  (default 0.5), at most ``options.max_results`` (default 10), best first, each
  with ``similarity_score``, ``matching_aspects`` and the score of every aspect
  asked for. A match shows ``budget_tier`` always and ``budget_amount`` only
  when the catalog gave the viewer the amount.
- ``case_study_template``: a pitch deck whose sections are filled from the top
  matches, and whose assets are the scripts and sales decks of those matches
  that the viewer may read. With ``options.include_creative_concepts`` the deck
  has a section of creative concepts quoted from those documents; nothing is
  made up, and the deck says so when there are none.
- ``result.summary``: the written brief, streamed as it is written.

A request that names no filter and no word found in any project has nothing to
compare projects by: it gets no matches and an answer that says so.

Confidence (``confidence.confidence``): ``match`` is 1 unless the request names
a director or client, then the quality of finding that name among the projects;
``coverage`` is the share of the given filters that one of the top matches
satisfies fully (with no matches: that some project carries the field, so it
could be checked; with no criteria at all: 0); ``found`` is the number of
matches, against ``enough`` = ``max_results`` capped at 5.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from onevice.agents import fields
from onevice.agents.base import Agent, AgentResult, AgentRun, validate_common
from onevice.agents.confidence import confidence, match_quality, mean
from onevice.agents.similarity import (
    Match,
    Wanted,
    known_words,
    rank,
    words_of,
)
from onevice.agents.writing import Brief, Section
from onevice.base.errors import NotFound, ValidationError
from onevice.base.names import name_key
from onevice.services.access import Viewer
from onevice.storage.projects import GENRES, PROJECT_TYPES, ProjectStore

FILTERS: Final = (
    "project_type",
    "genre",
    "budget_range",
    "year_range",
    "director",
    "client",
)
#: This agent's options, then those every agent takes (``validate_common``).
OPTIONS: Final = (
    "max_results",
    "similarity_threshold",
    "include_creative_concepts",
    "format",
    "max_tokens",
    "stream_response",
    "include_sources",
)
FORMATS: Final = ("brief", "detailed_brief")
#: The similarity aspect that each filter is scored by.
FILTER_ASPECTS: Final = {
    "project_type": "type",
    "genre": "genre",
    "budget_range": "budget",
    "year_range": "year",
    "director": "director",
    "client": "client",
}
DEFAULT_MAX_RESULTS: Final = 10
MAX_RESULTS: Final = 50
DEFAULT_THRESHOLD: Final = 0.5
MAX_NAME_CHARS: Final = 200
#: Matches enough for a solid answer (``enough`` of the confidence measure).
ENOUGH_MATCHES: Final = 5
#: How many top matches the pitch deck is built from.
DECK_MATCHES: Final = 3
#: How many matches the written brief names one by one.
BRIEF_MATCHES: Final = 5
#: Documents that hold creative material, open to every role (spec §4.3).
CONCEPT_CATEGORIES: Final = ("5_scripts", "6_sales_decks")


@dataclasses.dataclass(frozen=True)
class Ask:
    """A validated request, parsed: what to look for and how much to return."""

    query: str
    wanted: Wanted
    #: the filters given, as the request wrote them
    filters: Mapping[str, str]
    max_results: int
    threshold: float
    concepts: bool
    detailed: bool

    @classmethod
    def of(cls, request: Mapping[str, Any]) -> Ask:
        """Parse a request that ``CaseStudyAgent.validate`` accepted."""
        filters: Mapping[str, Any] = request.get("filters") or {}
        given = {key: filters[key] for key in FILTERS if filters.get(key) is not None}
        options: Mapping[str, Any] = request.get("options") or {}

        def option(name: str, default: Any) -> Any:
            # An option given as null means its default, as validation treats it.
            value = options.get(name)
            return default if value is None else value

        return cls(
            query=str(request["query"]),
            wanted=_wanted(str(request["query"]), given),
            filters=given,
            max_results=int(option("max_results", DEFAULT_MAX_RESULTS)),
            threshold=float(option("similarity_threshold", DEFAULT_THRESHOLD)),
            concepts=bool(option("include_creative_concepts", False)),
            detailed=option("format", "detailed_brief") == "detailed_brief",
        )


@dataclasses.dataclass(frozen=True)
class Deck:
    """What the top matches bring to the pitch deck: their readable documents."""

    projects: tuple[Match, ...]
    #: the visible scripts and sales decks of those projects
    documents: tuple[Mapping[str, Any], ...]


class CaseStudyAgent(Agent):
    """Finds similar past projects and fills a pitch deck from them."""

    name = "case_study"

    def validate(self, body: Any) -> dict[str, Any]:
        request = validate_common(body)
        problems = [
            *_filter_problems(request.get("filters") or {}),
            *_option_problems(request.get("options") or {}),
        ]
        if problems:
            raise ValidationError(problems)
        return request

    async def run(self, run: AgentRun) -> AgentResult:
        await run.stage("entity_analysis")
        ask = Ask.of(run.request)
        store = run.sources.projects()
        catalog = await store.catalog(run.viewer)
        await run.check_cancelled()

        await run.stage("scoring")
        ranked = rank(catalog, ask.wanted)
        matches = select(ranked, ask)
        await run.check_cancelled()

        await run.stage("relationship_mapping")
        deck = await read_deck(store, run.viewer, matches[:DECK_MATCHES])
        await run.check_cancelled()

        await run.stage("drafting")
        brief = Brief(
            question=ask.query,
            sections=brief_sections(ask, catalog, ranked, matches, deck),
            detailed=ask.detailed,
        )
        writing = await run.compose(brief)
        return AgentResult(
            body={
                "result": {"summary": writing.text},
                "matches": [match_item(match) for match in matches],
                "case_study_template": template(ask, catalog, deck),
            },
            confidence_score=confidence(
                match=named_match(ask, catalog),
                coverage=coverage(ask, catalog, ranked, matches),
                found=len(matches),
                enough=min(ask.max_results, ENOUGH_MATCHES),
            ),
        )


# Validation


def _filter_problems(filters: Mapping[str, Any]) -> list[dict[str, Any]]:
    problems = fields.unknown_fields(filters, "filters", FILTERS)
    checks: dict[str, Callable[[Any, str], object]] = {
        "project_type": lambda v, f: fields.one_of(v, f, PROJECT_TYPES),
        "genre": lambda v, f: fields.one_of(v, f, GENRES),
        "budget_range": fields.budget_range,
        "year_range": fields.year_range,
        "director": _name,
        "client": _name,
    }
    for key, check in checks.items():
        if filters.get(key) is not None:
            problems.extend(_problems_of(check, filters[key], f"filters.{key}"))
    return problems


def _option_problems(options: Mapping[str, Any]) -> list[dict[str, Any]]:
    problems = fields.unknown_fields(options, "options", OPTIONS)
    checks: dict[str, Callable[[Any, str], object]] = {
        "max_results": lambda v, f: fields.whole_number(v, f, 1, MAX_RESULTS),
        "similarity_threshold": fields.fraction,
        "include_creative_concepts": _flag,
        "format": lambda v, f: fields.one_of(v, f, FORMATS),
    }
    for key, check in checks.items():
        if options.get(key) is not None:
            problems.extend(_problems_of(check, options[key], f"options.{key}"))
    return problems


def _problems_of(
    check: Callable[[Any, str], object], value: Any, field: str
) -> list[dict[str, Any]]:
    try:
        check(value, field)
    except ValidationError as exc:
        return list(exc.details["invalid_fields"])
    return []


def _name(value: Any, field: str) -> str:
    if isinstance(value, str) and value.strip() and len(value) <= MAX_NAME_CHARS:
        return value
    raise ValidationError.field(
        field, f"Must be a name of 1 to {MAX_NAME_CHARS} characters", provided=value
    )


def _flag(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationError.field(field, "Must be a boolean", provided=value)


def _wanted(query: str, filters: Mapping[str, str]) -> Wanted:
    budget = filters.get("budget_range")
    years = filters.get("year_range")
    return Wanted(
        project_type=filters.get("project_type"),
        genre=filters.get("genre"),
        budget=fields.budget_range(budget, "") if budget is not None else None,
        years=fields.year_range(years, "") if years is not None else None,
        director=filters.get("director"),
        client=filters.get("client"),
        words=words_of(query),
    )


# Scoring and reading


def select(ranked: Sequence[Match], ask: Ask) -> list[Match]:
    """The matches to return: at or above the threshold, at most ``max_results``.

    None when nothing was asked (every project then scores 0 on no aspect).
    """
    if not has_criteria(ranked):
        return []
    return [m for m in ranked if m.score >= ask.threshold][: ask.max_results]


def has_criteria(ranked: Sequence[Match]) -> bool:
    """Whether the request gave anything to score by (see ``similarity``)."""
    return bool(ranked) and bool(ranked[0].aspect_scores)


async def read_deck(store: ProjectStore, viewer: Viewer, top: Sequence[Match]) -> Deck:
    """The scripts and sales decks of the top matches that ``viewer`` may read."""
    documents: list[Mapping[str, Any]] = []
    for match in top:
        try:
            detail = await store.get(viewer, str(match.project["id"]))
        except NotFound:
            continue  # removed since the catalog was read
        documents.extend(
            doc for doc in detail["documents"] if doc["category"] in CONCEPT_CATEGORIES
        )
    return Deck(tuple(top), tuple(documents))


# The answer


def match_item(match: Match) -> dict[str, Any]:
    """A match as the spec shows it, with the budget the viewer may see."""
    project = match.project
    budget = project.get("budget") or {}
    team = project.get("team") or {}
    shown: dict[str, Any] = {
        "id": project["id"],
        "name": project["name"],
        "type": project["type"],
        "client": project.get("client"),
        "artist": project.get("artist"),
        "genre": project.get("genre"),
        "year": project.get("year"),
        "status": project.get("status"),
        "budget_tier": budget.get("tier"),
        "director": team.get("director"),
        "creative_director": team.get("creative_director"),
    }
    if "amount" in budget:
        shown["budget_amount"] = budget["amount"]
    return {
        "project": shown,
        "similarity_score": match.score,
        "matching_aspects": list(match.aspects),
        "aspect_scores": dict(match.aspect_scores),
    }


def template(
    ask: Ask, catalog: Sequence[Mapping[str, Any]], deck: Deck
) -> dict[str, Any]:
    """The pitch deck: sections filled from the top matches, and their assets."""
    top = deck.projects
    sections = [
        {"title": "Overview", "content": [request_sentence(ask, catalog)]},
        {
            "title": "Comparable Projects",
            "content": [project_sentence(m) for m in top] or [NO_MATCHES],
            "project_ids": [m.project["id"] for m in top],
        },
        {"title": "Creative Team", "content": team_sentences(top)},
        {"title": "Budget", "content": [budget_sentence(m) for m in top]},
    ]
    if ask.concepts:
        sections.append(
            {"title": "Creative Concepts", "content": concept_sentences(deck)}
        )
    assets = [
        {
            "project_id": doc["project_id"],
            "document_id": doc["id"],
            "category": doc["category"],
            "title": doc["title"],
        }
        for doc in deck.documents
    ]
    return {"format": "pitch_deck", "sections": sections, "assets": assets}


NO_MATCHES: Final = "No past project is close enough to this request."


def brief_sections(
    ask: Ask,
    catalog: Sequence[Mapping[str, Any]],
    ranked: Sequence[Match],
    matches: Sequence[Match],
    deck: Deck,
) -> tuple[Section, ...]:
    """The facts of the written answer, every one read from the viewer's data."""
    sections = [
        Section("Request", (request_sentence(ask, catalog),)),
        Section("Matches", match_sentences(ask, catalog, ranked, matches)),
        Section("Not found", tuple(missing_sentences(ask, catalog))),
        Section("Creative team", tuple(team_sentences(deck.projects)), essential=False),
    ]
    if ask.concepts:
        sections.append(Section("Creative concepts", tuple(concept_sentences(deck))))
    return tuple(sections)


def request_sentence(ask: Ask, catalog: Sequence[Mapping[str, Any]]) -> str:
    """What the projects were compared on: the filters and the words that count."""
    asked = [f"{key.replace('_', ' ')} {value}" for key, value in ask.filters.items()]
    words = known_words(catalog, ask.wanted.words)
    if words:
        asked.append("the words " + ", ".join(sorted(words)))
    if not asked:
        return "The request names no filter and no words to compare projects by."
    return f"Projects were compared on {_listing(asked)}."


def match_sentences(
    ask: Ask,
    catalog: Sequence[Mapping[str, Any]],
    ranked: Sequence[Match],
    matches: Sequence[Match],
) -> tuple[str, ...]:
    """How many projects matched and how well, naming the best few."""
    if not catalog:
        return ("The organisation has no projects on record.",)
    if not has_criteria(ranked):
        return (
            "No filter was given and no word of the query appears in any "
            "project, so there is nothing to compare projects by.",
        )
    if not matches:
        best = ranked[0]
        return (
            f"No project scores {ask.threshold:g} or more; the closest is "
            f"{best.project['name']} at {best.score:g}.",
        )
    counted = (
        f"{len(matches)} of {len(catalog)} projects score {ask.threshold:g} or more."
    )
    named = [score_sentence(m) for m in matches[:BRIEF_MATCHES]]
    rest = len(matches) - len(named)
    more = [f"{rest} more matches are listed with the answer."] if rest else []
    return (counted, *named, *more)


def score_sentence(match: Match) -> str:
    """A match, its score and what it matched on."""
    aspects = _listing(list(match.aspects)) or "no aspect in full"
    return f"{project_words(match)}; it scores {match.score:g}, matching {aspects}."


def project_sentence(match: Match) -> str:
    """A project in one sentence: what, for whom, when, how big, by whom."""
    return f"{project_words(match)}."


def project_words(match: Match) -> str:
    """A project's name and main facts, to build sentences with."""
    project = match.project
    facts = [f"{project['type']} for {project.get('client') or 'no named client'}"]
    if project.get("genre"):
        facts.append(str(project["genre"]))
    if project.get("year"):
        facts.append(f"pitched {project['year']}")
    facts.append(_budget_words(project))
    director = (project.get("team") or {}).get("director")
    if director:
        facts.append(f"directed by {director}")
    return f"{project['name']} [{project['id']}] ({', '.join(facts)})"


def budget_sentence(match: Match) -> str:
    """A project's budget as the viewer may see it."""
    return f"{match.project['name']}: {_budget_words(match.project)}."


def team_sentences(top: Sequence[Match]) -> list[str]:
    """Who directed and creative-directed the top matches."""
    sentences = []
    for match in top:
        team = match.project.get("team") or {}
        roles = [
            f"{title} {team[position]}"
            for position, title in (
                ("director", "director"),
                ("creative_director", "creative director"),
                ("producer", "producer"),
            )
            if team.get(position)
        ]
        if roles:
            sentences.append(f"{match.project['name']}: {_listing(roles)}.")
    return sentences


def concept_sentences(deck: Deck) -> list[str]:
    """Creative material quoted from the readable documents of the top matches."""
    if not deck.projects:
        return ["There are no matching projects to draw creative concepts from."]
    quoted = [
        f"{doc['title']}: {_as_sentence(str(doc.get('content') or doc['summary']))}"
        for doc in deck.documents
    ]
    return quoted or [
        "None of the top matches has a script or sales deck you may read, so "
        "there are no creative concepts to draw on."
    ]


def missing_sentences(ask: Ask, catalog: Sequence[Mapping[str, Any]]) -> list[str]:
    """A named director or client that no project has."""
    return [
        f"No project on record has the {role} {name}."
        for role, name in _named(ask)
        if _name_quality(name, _values(catalog, role)) == 0.0
    ]


# Confidence


def named_match(ask: Ask, catalog: Sequence[Mapping[str, Any]]) -> float:
    """How well the named director and client were found (1 if none named)."""
    return mean(
        _name_quality(name, _values(catalog, role)) for role, name in _named(ask)
    )


def coverage(
    ask: Ask,
    catalog: Sequence[Mapping[str, Any]],
    ranked: Sequence[Match],
    matches: Sequence[Match],
) -> float:
    """The share of the given filters the top matches satisfy (or could be checked)."""
    if not has_criteria(ranked):
        return 0.0
    aspects = [FILTER_ASPECTS[key] for key in ask.filters]
    if matches:
        top = matches[:DECK_MATCHES]
        return mean(float(any(a in m.aspects for m in top)) for a in aspects)
    return mean(float(any(_carries(p, a) for p in catalog)) for a in aspects)


def _named(ask: Ask) -> list[tuple[str, str]]:
    named = (("director", ask.wanted.director), ("client", ask.wanted.client))
    return [(role, name) for role, name in named if name is not None]


def _values(catalog: Sequence[Mapping[str, Any]], role: str) -> set[str]:
    if role == "director":
        found = ((p.get("team") or {}).get("director") for p in catalog)
    else:
        found = (p.get("client") for p in catalog)
    return {value for value in found if isinstance(value, str)}


def _name_quality(name: str, values: set[str]) -> float:
    if name in values:
        return match_quality("exact")
    if name_key(name) in {name_key(value) for value in values}:
        return match_quality("normalised")
    return match_quality("none")


def _carries(project: Mapping[str, Any], aspect: str) -> bool:
    value = {
        "type": project.get("type"),
        "genre": project.get("genre"),
        "budget": (project.get("budget") or {}).get("tier"),
        "year": project.get("year"),
        "director": (project.get("team") or {}).get("director"),
        "client": project.get("client"),
    }[aspect]
    return value is not None


# Words


def _budget_words(project: Mapping[str, Any]) -> str:
    budget = project.get("budget") or {}
    words = f"budget tier {budget.get('tier')}"
    if isinstance(budget.get("amount"), int):
        words += f", budget ${budget['amount']:,}"
    return words


def _listing(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _as_sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."
