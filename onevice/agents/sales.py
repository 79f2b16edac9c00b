"""Sales Intelligence: who is this, and whom do we know around them?

Stages:

1. ``entity_analysis``: the names in the question and its context are resolved
   in the knowledge graph (see ``entities``): film people and production
   companies from the public credits, and the company's artists, clients and
   talent.
2. ``relationship_mapping``: for each entity found, its relationships to the
   requested ``depth``:

   - depth 1: what it is directly linked to: a person's credits, genres and
     production companies; an artist's label and the videos we made with them;
     a client's projects and signed artists; our talent's projects;
   - depth 2: also the people it shares the most work with (collaborators
     ranked by shared films or projects) and warm introductions: the company's
     own people and clients with a path to the target;
   - depth 3: also the second circle: people who worked with those
     collaborators (film people), the artist's label mates.

3. ``recommendations``: what follows from the findings (whom to ask for an
   introduction, which past work to show, how the asked budget sits against
   the target's past projects with us). Nothing is suggested without a finding
   behind it.
4. ``drafting``: the brief, with the configured writer.

Every read takes the viewer. Company projects come from the graph with their
budget tier only; amounts never enter this agent.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

from onevice.agents import fields
from onevice.agents.base import Agent, AgentResult, AgentRun, validate_common
from onevice.agents.confidence import confidence, mean
from onevice.agents.entities import Entity, EntityFinder, Resolution, names_in
from onevice.agents.writing import Brief, Section
from onevice.base.errors import ValidationError
from onevice.services.policy import budget_tier
from onevice.storage.graph.network import Network
from onevice.storage.projects import PROJECT_TYPES

CONTEXT_FIELDS: Final = (
    "client_name",
    "artist",
    "company",
    "project_type",
    "budget_range",
)
OPTION_FIELDS: Final = (
    "include_relationships",
    "depth",
    "format",
    "max_tokens",
    "stream_response",
    "include_sources",
)
FORMATS: Final = ("brief", "detailed_brief")
#: How many credits or projects an entity's details list.
RECENT: Final = 5


@dataclasses.dataclass
class Findings:
    """What the agent learnt about one entity."""

    resolution: Resolution
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    relationships: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    introductions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    tiers: Counter[str] = dataclasses.field(default_factory=Counter)
    types: Counter[str] = dataclasses.field(default_factory=Counter)
    sentences: list[str] = dataclasses.field(default_factory=list)

    @property
    def entity(self) -> Entity:
        assert self.resolution.entity is not None
        return self.resolution.entity

    def relate(self, kind: str, to: str, depth: int, **extra: Any) -> None:
        self.relationships.append(
            {"from": self.entity.name, "type": kind, "to": to, "depth": depth, **extra}
        )


class SalesIntelligenceAgent(Agent):
    name = "sales_intelligence"

    def validate(self, body: Any) -> dict[str, Any]:
        request = validate_common(body)
        problems: list[dict[str, Any]] = []
        context = request.get("context", {})
        options = request.get("options", {})
        for section, known in (("context", CONTEXT_FIELDS), ("options", OPTION_FIELDS)):
            problems += fields.unknown_fields(request.get(section, {}), section, known)
        for name in ("client_name", "artist", "company"):
            value = context.get(name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                problems.append(
                    {
                        "field": f"context.{name}",
                        "error": "Must be a name",
                        "provided": value,
                    }
                )
        value = options.get("include_relationships")
        if value is not None and not isinstance(value, bool):
            problems.append(
                {
                    "field": "options.include_relationships",
                    "error": "Must be a boolean",
                    "provided": value,
                }
            )
        try:
            if "project_type" in context:
                fields.one_of(
                    context["project_type"], "context.project_type", PROJECT_TYPES
                )
        except ValidationError as exc:
            problems.extend(exc.details["invalid_fields"])
        try:
            if "budget_range" in context:
                fields.budget_range(context["budget_range"], "context.budget_range")
        except ValidationError as exc:
            problems.extend(exc.details["invalid_fields"])
        try:
            if "depth" in options:
                fields.whole_number(options["depth"], "options.depth", 1, 3)
        except ValidationError as exc:
            problems.extend(exc.details["invalid_fields"])
        try:
            if "format" in options:
                fields.one_of(options["format"], "options.format", FORMATS)
        except ValidationError as exc:
            problems.extend(exc.details["invalid_fields"])
        if problems:
            raise ValidationError(problems)
        return request

    async def run(self, run: AgentRun) -> AgentResult:
        context: dict[str, Any] = dict(run.request.get("context") or {})
        options: dict[str, Any] = dict(run.request.get("options") or {})
        depth = int(options.get("depth", 2))
        # null is accepted by validation and means the default, like absence
        with_relationships = options.get("include_relationships") is not False
        graph = run.sources.graph()
        finder = EntityFinder(graph, run.viewer)
        network = Network(graph)

        await run.stage("entity_analysis")
        asked = [
            str(context[name])
            for name in ("artist", "client_name", "company")
            if context.get(name)
        ]
        query = str(run.request["query"])
        asked += names_in(query) + await finder.known_names_in(query)
        resolutions = await finder.resolve_all(asked)
        await run.check_cancelled()

        await run.stage("relationship_mapping")
        findings = []
        for resolution in resolutions:
            if resolution.entity is None:
                continue
            found = Findings(resolution)
            await _map(network, run, found, depth if with_relationships else 1)
            findings.append(found)
            await run.check_cancelled()

        await run.stage("recommendations")
        wanted_type = context.get("project_type")
        wanted_budget = context.get("budget_range")
        recommendations = _recommend(findings, wanted_type, wanted_budget)

        await run.stage("drafting")
        brief = _brief(query, resolutions, findings, recommendations, options)
        writing = await run.compose(brief)

        relationships = [r for f in findings for r in f.relationships]
        criteria = [bool(findings)]
        if with_relationships:
            criteria.append(bool(relationships))
        if wanted_type:
            criteria.append(any(f.types[wanted_type] for f in findings))
        if wanted_budget:
            criteria.append(any(f.tiers for f in findings))
        score = confidence(
            match=mean((r.quality for r in resolutions), empty=0.0),
            coverage=sum(criteria) / len(criteria),
            found=len(relationships) + sum(bool(f.details) for f in findings),
            enough=5 * depth,
        )
        return AgentResult(
            body={
                "result": {
                    "summary": writing.text,
                    "entities": [
                        {
                            "name": f.entity.name,
                            "type": f.entity.kind,
                            "match": f.resolution.report(),
                            "details": f.details,
                        }
                        for f in findings
                    ],
                    "not_found": [r.asked for r in resolutions if r.entity is None],
                    "relationships": relationships if with_relationships else [],
                    "introductions": [i for f in findings for i in f.introductions],
                    "recommendations": recommendations,
                }
            },
            confidence_score=score,
        )


async def _map(network: Network, run: AgentRun, found: Findings, depth: int) -> None:
    kind = found.entity.label
    if kind == "Person":
        await _person(network, run, found, depth)
    elif kind == "Company":
        await _company(network, run, found, depth)
    elif kind == "Artist":
        await _artist(network, run, found, depth)
    elif kind == "Client":
        await _client(network, run, found, depth)
    else:
        await _talent(network, run, found, depth)


async def _person(network: Network, run: AgentRun, found: Findings, depth: int) -> None:
    viewer, key, name = run.viewer, found.entity.ref, found.entity.name
    credits = await network.credits(viewer, key)
    roles = Counter(c["relation"] for c in credits)
    genres = await network.genres(viewer, key)
    producers = await network.producers(viewer, key)
    recent = _distinct_titles(credits)[:RECENT]
    found.details = {
        "credits": {
            "directed": roles["DIRECTED"],
            "wrote": roles["WROTE"],
            "acted_in": roles["ACTED_IN"],
        },
        "recent_work": recent,
        "genres": [g["genre"] for g in genres],
        "production_companies": [p["name"] for p in producers],
    }
    parts = [
        f"{count} {label}"
        for label, count in (
            ("directing credits", roles["DIRECTED"]),
            ("writing credits", roles["WROTE"]),
            ("acting credits", roles["ACTED_IN"]),
        )
        if count
    ]
    found.sentences.append(
        f"{name} has {', '.join(parts)} in the film data."
        if parts
        else f"{name} has no credits in the film data."
    )
    if recent:
        found.sentences.append(f"Most recent work: {_titles(recent)}.")
    if genres:
        found.sentences.append(
            f"Their films are mostly {', '.join(g['genre'] for g in genres[:3])}."
        )
    for producer in producers:
        found.relate("produced_by", producer["name"], 1, shared_work=producer["works"])
    if producers:
        found.sentences.append(
            "Production companies behind their films include "
            f"{_counted(producers, 'works')}."
        )
    if depth < 2:
        return
    collaborators = await network.collaborators(viewer, key)
    for person in collaborators:
        found.relate("collaborator", person["name"], 2, shared_work=person["shared"])
    if collaborators:
        found.sentences.append(
            f"Frequent collaborators: {_counted(collaborators[:5], 'shared')}."
        )
    found.sentences.append(
        f"No one on the company's roster is linked to {name} in the graph."
    )
    if depth < 3 or not collaborators:
        return
    second = await network.second_degree(
        viewer, key, [c["key"] for c in collaborators[:5]]
    )
    for person in second:
        found.relate(
            "second_degree", person["name"], 3, through_collaborators=person["via"]
        )
    if second:
        found.sentences.append(
            "Through those collaborators, the next circle includes "
            f"{', '.join(p['name'] for p in second)}."
        )


async def _company(
    network: Network, run: AgentRun, found: Findings, depth: int
) -> None:
    viewer, key, name = run.viewer, found.entity.ref, found.entity.name
    films = await network.produced(viewer, key)
    recent = _distinct_titles(films)[:RECENT]
    found.details = {"films_produced": len(films), "recent_work": recent}
    found.sentences.append(f"{name} produced {len(films)} films in the film data.")
    if recent:
        found.sentences.append(f"Most recent: {_titles(recent)}.")
    if depth < 2:
        return
    directors = await network.company_directors(viewer, key)
    for person in directors:
        found.relate(
            "worked_with_director", person["name"], 2, shared_work=person["shared"]
        )
    if directors:
        found.sentences.append(
            f"Directors it worked with most: {_counted(directors[:5], 'shared')}."
        )


async def _artist(network: Network, run: AgentRun, found: Findings, depth: int) -> None:
    viewer, key, name = run.viewer, found.entity.ref, found.entity.name
    artist = await network.artist(viewer, key) or {}
    projects = await network.projects_of_artist(viewer, key)
    found.details = {
        "genre": artist.get("genre"),
        "label": artist.get("label"),
        "recent_projects": [_project_summary(p) for p in projects[-RECENT:]],
    }
    _count_projects(found, projects)
    sentence = f"{name} is a {artist.get('genre') or 'music'} artist"
    if artist.get("label"):
        sentence += f" signed to {artist['label']}"
        found.relate("signed_to", artist["label"], 1)
    found.sentences.append(sentence + ".")
    _project_sentences(found, projects, "music videos with them")
    if depth >= 2:
        _team_links(found, projects, "directed or crewed their videos")
    if depth >= 3 and artist.get("label_key"):
        mates = [
            m
            for m in await network.label_mates(viewer, artist["label_key"])
            if m != name
        ]
        for mate in mates:
            found.relate("label_mate", mate, 3)
        if mates:
            found.sentences.append(f"Also on {artist['label']}: {', '.join(mates)}.")


async def _client(network: Network, run: AgentRun, found: Findings, depth: int) -> None:
    viewer, key, name = run.viewer, found.entity.ref, found.entity.name
    client = await network.client(viewer, key) or {}
    projects = await network.projects_of_client(viewer, key)
    kind = "record label" if client.get("kind") == "label" else "brand"
    found.details = {
        "kind": kind,
        "recent_projects": [_project_summary(p) for p in projects[-RECENT:]],
    }
    _count_projects(found, projects)
    found.sentences.append(f"{name} is a {kind} and a client of the company.")
    _project_sentences(found, projects, "projects for them")
    if client.get("kind") == "label":
        artists = await network.label_mates(viewer, key)
        found.details["artists"] = artists
        for artist in artists:
            found.relate("signs", artist, 1)
        if artists:
            found.sentences.append(f"Artists signed to {name}: {', '.join(artists)}.")
    if depth >= 2:
        _team_links(found, projects, "worked on their projects")


async def _talent(network: Network, run: AgentRun, found: Findings, depth: int) -> None:
    viewer, name = run.viewer, found.entity.name
    projects = await network.projects_of_talent(viewer, found.entity.ref)
    found.details = {
        "recent_projects": [_project_summary(p) for p in projects[-RECENT:]],
    }
    _count_projects(found, projects)
    _project_sentences(found, projects, f"projects with {name}")
    clients = Counter(p["client"] for p in projects if p["client"])
    for client, count in sorted(clients.items()):
        found.relate("worked_for", client, 1, shared_work=count)
    if depth >= 2:
        colleagues: Counter[str] = Counter()
        for project in projects:
            colleagues.update({m["name"] for m in project["team"] if m["name"] != name})
        for colleague, count in sorted(colleagues.items(), key=lambda c: (-c[1], c[0])):
            found.relate("colleague", colleague, 2, shared_work=count)


def _count_projects(found: Findings, projects: Sequence[dict[str, Any]]) -> None:
    found.tiers.update(p["budget_tier"] for p in projects if p["budget_tier"])
    found.types.update(p["type"] for p in projects if p["type"])
    for project in projects:
        found.relate("project", project["name"], 1, project_id=project["id"])


def _project_sentences(
    found: Findings, projects: Sequence[dict[str, Any]], what: str
) -> None:
    if not projects:
        found.sentences.append(f"The company has made no {what.split(' ', 1)[1]} yet.")
        return
    found.sentences.append(f"The company has made {len(projects)} {what}.")
    latest = projects[-1]
    found.sentences.append(
        f"The latest is {latest['name']} ({latest['status']}, {latest['budget_tier']})."
    )


def _team_links(found: Findings, projects: Sequence[dict[str, Any]], did: str) -> None:
    """Warm introductions: the company's people on the target's projects."""
    people: Counter[str] = Counter()
    positions: dict[str, set[str]] = {}
    for project in projects:
        for member in project["team"]:
            people[member["name"]] += 1
            positions.setdefault(member["name"], set()).add(member["position"])
    ranked = sorted(people.items(), key=lambda p: (-p[1], p[0]))
    for person, count in ranked:
        found.relate("worked_with", person, 2, shared_work=count)
        found.introductions.append(
            {
                "target": found.entity.name,
                "via": person,
                "positions": sorted(positions[person]),
                "shared_projects": count,
            }
        )
    if ranked:
        found.sentences.append(
            f"People on the company's roster who {did}: "
            + ", ".join(f"{p} ({n})" for p, n in ranked[:5])
            + "."
        )


def _recommend(
    findings: Sequence[Findings], wanted_type: str | None, wanted_budget: str | None
) -> list[str]:
    advice: list[str] = []
    for found in findings:
        name = found.entity.name
        if found.introductions:
            best = found.introductions[0]
            advice.append(
                f"Ask {best['via']} for an introduction to {name}: they worked on "
                f"{best['shared_projects']} of the company's projects with them."
            )
        recent = found.details.get("recent_projects") or []
        if recent:
            advice.append(f"Show {recent[-1]['name']} when pitching to {name}.")
        if wanted_type and found.types and not found.types[wanted_type]:
            advice.append(
                f"The company has made no {wanted_type} with {name}; lead with "
                f"its {found.types.most_common(1)[0][0]} work for them."
            )
        if wanted_budget and found.tiers:
            low, _ = fields.budget_range(wanted_budget, "context.budget_range")
            tier = budget_tier(low)
            usual = found.tiers.most_common(1)[0][0]
            if usual == tier:
                advice.append(
                    f"The asked budget ({wanted_budget}) is in the tier of most "
                    f"past work with {name} ({usual})."
                )
            else:
                advice.append(
                    f"The asked budget ({wanted_budget}) starts in the {tier} tier; "
                    f"past work with {name} was mostly {usual}."
                )
        collaborators = [r for r in found.relationships if r["type"] == "collaborator"]
        if collaborators:
            advice.append(
                f"{collaborators[0]['to']} shares the most work with {name}; "
                "a reference from them carries weight."
            )
    return advice


def _brief(
    query: str,
    resolutions: Sequence[Resolution],
    findings: Sequence[Findings],
    recommendations: Sequence[str],
    options: dict[str, Any],
) -> Brief:
    sections: list[Section] = []
    missing = [r.asked for r in resolutions if r.entity is None]
    if not resolutions:
        sections.append(
            Section("Found", ("The question names no one the graph could look up.",))
        )
    if missing:
        sections.append(
            Section(
                "Not found",
                (
                    f"Nothing in the knowledge graph matches {', '.join(missing)}, "
                    "so nothing is said about them.",
                ),
            )
        )
    for found in findings:
        lead = [f"{found.entity.name} ({found.entity.kind})."]
        if found.resolution.how == "fuzzy":
            lead.append(f'Matched loosely from "{found.resolution.asked}".')
        if found.resolution.ambiguous:
            others = ", ".join(
                f"{e.name} ({e.kind})" for e in found.resolution.alternatives
            )
            lead.append(f"The name also matches {others}.")
        sections.append(Section(found.entity.name, (*lead, *found.sentences[:2])))
        if found.sentences[2:]:
            sections.append(
                Section("Around them", tuple(found.sentences[2:]), essential=False)
            )
    if recommendations:
        sections.append(Section("Recommendations", tuple(recommendations)))
    detailed = options.get("format", "detailed_brief") == "detailed_brief"
    return Brief(query, tuple(sections), detailed=detailed)


def _distinct_titles(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row["title"], {"title": row["title"], "year": row["year"]})
    return list(seen.values())


def _titles(works: Sequence[dict[str, Any]]) -> str:
    return ", ".join(
        f"{w['title']} ({w['year']})" if w.get("year") else str(w["title"])
        for w in works
    )


def _counted(rows: Sequence[dict[str, Any]], field: str) -> str:
    return ", ".join(f"{r['name']} ({r[field]})" for r in rows)


def _project_summary(project: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": project["id"],
        "name": project["name"],
        "type": project["type"],
        "status": project["status"],
        "budget_tier": project["budget_tier"],
        "client": project["client"],
    }
