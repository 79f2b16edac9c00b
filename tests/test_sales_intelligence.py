"""Sales Intelligence on the seeded data: answers checked against the sources."""

from __future__ import annotations

import asyncio
import collections
import json
import re
import sqlite3
from typing import Any

from onevice.data.company import ARTIST_ROSTER
from onevice.data.movies import movies_db
from tests.fix_agents import CompanyStack
from tests.fix_stack import MakeUser

SLUG = "sales-intelligence"


def credited(field: str | None) -> set[str]:
    return {
        re.sub(r"\s*\(.*?\)", "", part).strip()
        for part in (field or "").split(",")
        if part.strip() and part.strip() != "N/A"
    }


def film_collaborators(person: str) -> collections.Counter[str]:
    """Whom ``person`` shares films with, counted straight from movies.db."""
    with sqlite3.connect(movies_db()) as conn:
        rows = conn.execute(
            'SELECT DISTINCT imdbID, Director, Writer, "Cast" FROM omdb'
            " WHERE imdbID IS NOT NULL AND Title IS NOT NULL"
        ).fetchall()
    films: dict[str, set[str]] = {}
    for film, director, writer, cast in rows:
        films[film] = credited(director) | credited(writer) | credited(cast)
    shared: collections.Counter[str] = collections.Counter()
    for names in films.values():
        if person in names:
            shared.update(names - {person})
    return shared


def relationships(answer: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in answer["result"]["relationships"] if r["type"] == kind]


async def test_a_film_directors_collaborators_match_the_film_data(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    person = "Ridley Scott"
    answer = await company_stack.ask(
        make_user("Salesperson"),
        SLUG,
        {"query": f"Research {person} for a pitch", "options": {"depth": 2}},
    )
    [entity] = answer["result"]["entities"]
    assert entity["name"] == person and entity["match"]["match"] == "exact"
    shared = await asyncio.to_thread(film_collaborators, person)
    top = max(shared.values())
    found = relationships(answer, "collaborator")
    assert {r["to"] for r in found if r["shared_work"] == top} == {
        name for name, n in shared.items() if n == top
    }
    assert found[0]["shared_work"] == top
    assert person in answer["result"]["summary"]
    assert answer["data_sources"] == ["falkordb"]
    # The film data also credits a production company called "Ridley Scott":
    # the person (more connected) is chosen and the ambiguity reported, which
    # halves the match quality: 0.5 * 0.5 + 0.3 * 1 (covered) + 0.2 * 1.
    assert entity["match"]["alternatives"] == [
        {"name": person, "type": "Production Company"}
    ]
    assert answer["confidence_score"] == 0.75


async def test_an_artist_maps_to_label_videos_and_warm_introductions(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    artist = ARTIST_ROSTER[0]
    videos = [p for p in company_stack.company.projects if p.artist == artist.name]
    crew: collections.Counter[str] = collections.Counter()
    for project in videos:
        crew.update({name for _, name, _ in project.team})
    answer = await company_stack.ask(
        make_user("Leadership"),
        SLUG,
        {
            "query": f"Research {artist.name} for an upcoming music video pitch",
            "context": {"client_name": artist.label, "budget_range": "$100k-300k"},
            "options": {"depth": 2, "format": "detailed_brief"},
        },
    )
    entities = {e["name"]: e for e in answer["result"]["entities"]}
    assert entities[artist.name]["details"]["label"] == artist.label
    assert entities[artist.label]["type"] == "Client"
    assert {r["to"] for r in relationships(answer, "signed_to")} == {artist.label}
    projects = [r for r in relationships(answer, "project") if r["from"] == artist.name]
    assert {r["project_id"] for r in projects} == {p.id for p in videos}
    intros = [
        i for i in answer["result"]["introductions"] if i["target"] == artist.name
    ]
    assert {i["via"]: i["shared_projects"] for i in intros} == dict(crew)
    best = max(crew.items(), key=lambda item: (item[1], [-ord(c) for c in item[0]]))
    assert intros[0]["via"] == best[0]
    assert any(best[0] in advice for advice in answer["result"]["recommendations"])
    assert answer["data_sources"] == ["falkordb"]


async def test_an_unknown_artist_is_said_to_be_unknown_with_low_confidence(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    answer = await company_stack.ask(
        make_user(),
        SLUG,
        {"query": "Research Zqxvbrnt Wlpfokj for upcoming music video pitch"},
    )
    assert answer["result"]["entities"] == []
    assert answer["result"]["not_found"] == ["Zqxvbrnt Wlpfokj"]
    assert "Zqxvbrnt Wlpfokj" in answer["result"]["summary"]
    assert answer["result"]["recommendations"] == []
    assert answer["confidence_score"] < 0.2


async def test_a_misspelt_name_matches_loosely_and_costs_confidence(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    artist = ARTIST_ROSTER[1]
    first, last = artist.name.split()
    exact = await company_stack.ask(
        make_user(), SLUG, {"query": f"Research {artist.name}"}
    )
    typo = await company_stack.ask(
        make_user(), SLUG, {"query": f"Research {first} {last}x"}
    )
    [entity] = typo["result"]["entities"]
    assert entity["name"] == artist.name and entity["match"]["match"] == "fuzzy"
    assert typo["confidence_score"] < exact["confidence_score"]


async def test_null_include_relationships_means_the_default(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """include_relationships given as null maps relationships, as when absent."""
    user = make_user()
    query = {"query": "Research Ridley Scott"}
    plain = await company_stack.ask(user, SLUG, query)
    null = await company_stack.ask(
        user, SLUG, {**query, "options": {"include_relationships": None}}
    )
    assert plain["result"]["relationships"]
    assert null["result"]["relationships"] == plain["result"]["relationships"]


async def test_depth_widens_the_map_and_format_changes_only_the_length(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    user = make_user()
    query = {"query": "Research Ridley Scott"}
    one = await company_stack.ask(user, SLUG, {**query, "options": {"depth": 1}})
    three = await company_stack.ask(user, SLUG, {**query, "options": {"depth": 3}})
    assert relationships(one, "collaborator") == []
    assert relationships(three, "collaborator")
    assert relationships(three, "second_degree")
    direct = {r["to"] for r in relationships(three, "collaborator")}
    assert not direct & {r["to"] for r in relationships(three, "second_degree")}
    short = await company_stack.ask(
        user, SLUG, {**query, "options": {"depth": 3, "format": "brief"}}
    )
    assert short["result"]["relationships"] == three["result"]["relationships"]
    assert len(short["result"]["summary"]) < len(three["result"]["summary"])


async def test_no_role_sees_a_budget_amount(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    label = ARTIST_ROSTER[2].label
    for role in ("Leadership", "Salesperson"):
        answer = await company_stack.ask(
            make_user(role), SLUG, {"query": f"Brief me on {label}"}
        )
        assert answer["result"]["entities"][0]["name"] == label
        text = json.dumps(answer)
        assert '"amount"' not in text and "USD" not in text


async def test_bad_fields_are_refused_with_the_valid_options(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    answer = await company_stack.ask(
        make_user(),
        SLUG,
        {
            "query": "Research Ridley Scott",
            "context": {"budget_range": "100-300", "project_type": "Film", "mood": 1},
            "options": {"depth": 4, "format": "long"},
        },
        status=400,
    )
    problems = {p["field"]: p for p in answer["error"]["details"]["invalid_fields"]}
    assert set(problems) == {
        "context.budget_range",
        "context.project_type",
        "context.mood",
        "options.depth",
        "options.format",
    }
    assert problems["options.format"]["valid_options"] == ["brief", "detailed_brief"]
    assert "Music Video" in problems["context.project_type"]["valid_options"]
