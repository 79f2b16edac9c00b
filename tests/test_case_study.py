"""The Case Study agent through the API, over the seeded company (seed 7).

Expected answers are worked out here from ``company_stack.company``, the
generator's own records, with plain code that does not use the agent's scoring.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from onevice.data import company as generator
from onevice.services.policy import budget_tier
from onevice.storage.projects import NewProject
from tests.fix_agents import CompanyStack
from tests.fix_stack import MakeUser
from tests.test_sse import read_sse, submit

SLUG = "case-study"
#: Only stop words: the query text adds no words, so the filters alone decide.
PLAIN_QUERY = "Find similar past projects"


def year_of(project: NewProject) -> int:
    return int(project.timeline["pitched"][:4])


def genre_of(project: NewProject) -> str | None:
    genre: str | None = project.timeline["genre"]
    return genre


def music_videos(stack: CompanyStack) -> list[NewProject]:
    return [p for p in stack.company.projects if p.type == "Music Video"]


def distinctive_video(stack: CompanyStack) -> NewProject:
    """The first music video whose genre and budget tier no other video shares."""
    videos = music_videos(stack)
    kinds = Counter((genre_of(p), budget_tier(p.budget_amount)) for p in videos)
    return next(
        p
        for p in sorted(videos, key=lambda p: p.id)
        if kinds[genre_of(p), budget_tier(p.budget_amount)] == 1
        and budget_tier(p.budget_amount) != "Under $50k"  # no range notation
    )


def ids(answer: dict[str, Any]) -> list[str]:
    return [match["project"]["id"] for match in answer["matches"]]


def section(answer: dict[str, Any], title: str) -> dict[str, Any] | None:
    sections = answer["case_study_template"]["sections"]
    return next((s for s in sections if s["title"] == title), None)


async def test_top_match_is_the_project_the_filters_describe(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Type, genre and tier of one video, years around it: that video comes first."""
    target = distinctive_video(company_stack)
    year = year_of(target)
    tier = budget_tier(target.budget_amount)
    expected = min(
        p.id
        for p in music_videos(company_stack)
        if genre_of(p) == genre_of(target)
        and budget_tier(p.budget_amount) == tier
        and year - 1 <= year_of(p) <= year + 1
    )
    answer = await company_stack.ask(
        make_user("Leadership"),
        SLUG,
        {
            "query": PLAIN_QUERY,
            "filters": {
                "project_type": "Music Video",
                "genre": genre_of(target),
                "budget_range": tier,
                "year_range": f"{year - 1}-{year + 1}",
            },
        },
    )
    top = answer["matches"][0]
    assert (top["project"]["id"], top["similarity_score"]) == (expected, 1.0)


async def test_threshold_keeps_only_close_enough_projects(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Type and genre at threshold 0.9: exactly the videos of that genre."""
    genre = genre_of(distinctive_video(company_stack))
    expected = sorted(p.id for p in music_videos(company_stack) if genre_of(p) == genre)
    answer = await company_stack.ask(
        make_user("Leadership"),
        SLUG,
        {
            "query": PLAIN_QUERY,
            "filters": {"project_type": "Music Video", "genre": genre},
            "options": {"similarity_threshold": 0.9, "max_results": 50},
        },
    )
    assert ids(answer) == expected


async def test_max_results_caps_the_matches(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """All videos score 1 for the type alone; three are asked for, first by id."""
    expected = sorted(p.id for p in music_videos(company_stack))[:3]
    answer = await company_stack.ask(
        make_user("Leadership"),
        SLUG,
        {
            "query": PLAIN_QUERY,
            "filters": {"project_type": "Music Video"},
            "options": {"max_results": 3},
        },
    )
    assert ids(answer) == expected


async def test_null_options_mean_their_defaults(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Options given as null (which validation accepts) answer like absent ones."""
    user = make_user("Leadership")
    ask = {"query": PLAIN_QUERY, "filters": {"project_type": "Music Video"}}
    unset = dict.fromkeys(
        ["max_results", "similarity_threshold", "include_creative_concepts", "format"]
    )
    plain = await company_stack.ask(user, SLUG, ask)
    nulls = await company_stack.ask(user, SLUG, {**ask, "options": unset})
    assert (ids(nulls), nulls["result"]) == (ids(plain), plain["result"])


@pytest.mark.parametrize("role", ["Salesperson", "Creative Director", "Director"])
async def test_ranges_only_roles_see_tiers_and_no_amounts(
    company_stack: CompanyStack, make_user: MakeUser, role: str
) -> None:
    """Matches show tiers but no amounts (a fresh Director is on no project)."""
    amounts = {p.id: p.budget_amount for p in company_stack.company.projects}
    answer = await company_stack.ask(
        make_user(role),
        SLUG,
        {"query": PLAIN_QUERY, "filters": {"project_type": "Commercial"}},
    )
    shown = [
        (m["project"].get("budget_tier"), "budget_amount" in m["project"])
        for m in answer["matches"]
    ]
    expected = [(budget_tier(amounts[i]), False) for i in ids(answer)]
    summary = answer["result"]["summary"]
    assert shown == expected and shown
    assert not any(f"{amounts[i]:,}" in summary for i in ids(answer))


async def test_leadership_sees_the_amounts(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A Leadership user's matches carry each project's budget amount."""
    amounts = {p.id: p.budget_amount for p in company_stack.company.projects}
    answer = await company_stack.ask(
        make_user("Leadership"),
        SLUG,
        {"query": PLAIN_QUERY, "filters": {"project_type": "Commercial"}},
    )
    shown = {
        m["project"]["id"]: m["project"]["budget_amount"] for m in answer["matches"]
    }
    assert shown == {i: amounts[i] for i in ids(answer)} and shown


async def test_creative_concepts_quote_the_top_matches_documents(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Concepts are the scripts and sales decks of the top three matches, quoted."""
    answer = await company_stack.ask(
        make_user("Salesperson"),
        SLUG,
        {
            "query": PLAIN_QUERY,
            "filters": {"project_type": "Music Video"},
            "options": {"include_creative_concepts": True},
        },
    )
    top = set(ids(answer)[:3])
    documents = [
        d
        for p in company_stack.company.projects
        if p.id in top
        for d in p.documents
        if d["category"] in ("5_scripts", "6_sales_decks")
    ]
    concepts = section(answer, "Creative Concepts")
    assert concepts is not None
    assert sorted(concepts["content"]) == sorted(
        f"{d['title']}: {d['content']}" for d in documents
    )


async def test_assets_are_the_readable_documents_of_the_top_matches(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """The deck's assets list the top matches' scripts and sales decks."""
    answer = await company_stack.ask(
        make_user("Creative Director"),
        SLUG,
        {"query": PLAIN_QUERY, "filters": {"project_type": "Commercial"}},
    )
    top = ids(answer)[:3]
    expected = sorted(f"{i}_{n}" for i in top for n in ("5", "6"))
    assets = answer["case_study_template"]["assets"]
    assert sorted(a["document_id"] for a in assets) == expected


async def test_no_concepts_section_unless_asked(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Without include_creative_concepts the deck has no concepts section."""
    answer = await company_stack.ask(
        make_user("Leadership"),
        SLUG,
        {"query": PLAIN_QUERY, "filters": {"project_type": "Commercial"}},
    )
    assert section(answer, "Creative Concepts") is None


async def test_no_criteria_gives_no_matches_and_says_so(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A query with no filter and no known word matches nothing, and says why."""
    answer = await company_stack.ask(
        make_user("Leadership"), SLUG, {"query": PLAIN_QUERY}
    )
    assert answer["matches"] == []
    assert "nothing to compare projects by" in answer["result"]["summary"]


async def test_unknown_director_is_reported_and_lowers_confidence(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A director no project has is named as not found; confidence drops."""
    user = make_user("Leadership")
    body: dict[str, Any] = {"query": PLAIN_QUERY, "filters": {"genre": "Pop"}}
    known = await company_stack.ask(user, SLUG, body)
    body["filters"]["director"] = "Nobody Knownhere"
    unknown = await company_stack.ask(user, SLUG, body)
    assert (
        "No project on record has the director Nobody Knownhere."
        in (unknown["result"]["summary"])
    )
    assert unknown["confidence_score"] < known["confidence_score"]


async def test_query_words_find_an_artist(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """An artist's name in the query alone brings up that artist's videos."""
    artist = next(
        a
        for a in generator.ARTISTS
        if any(p.artist == a for p in company_stack.company.projects)
    )
    expected = sorted(
        p.id for p in company_stack.company.projects if p.artist == artist
    )
    answer = await company_stack.ask(
        make_user("Leadership"),
        SLUG,
        {
            "query": f"Videos like the ones for {artist}",
            "options": {"similarity_threshold": 1.0, "max_results": 50},
        },
    )
    assert ids(answer) == expected


async def test_answer_names_postgresql_as_its_source(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """The projects are read from PostgreSQL, and the answer says so."""
    answer = await company_stack.ask(
        make_user("Leadership"),
        SLUG,
        {"query": PLAIN_QUERY, "filters": {"project_type": "Commercial"}},
    )
    assert "postgresql" in answer["data_sources"]


async def test_answer_streams_its_summary(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """The summary arrives as chunks over SSE, and they add up to it."""
    user = make_user("Leadership")
    query_id = await submit(
        company_stack.web,
        user,
        SLUG,
        {"query": PLAIN_QUERY, "filters": {"project_type": "Music Video"}},
    )
    events = await read_sse(company_stack.web, user, query_id)
    chunks = [e["data"]["data"] for e in events if e["event"] == "agent_response_chunk"]
    complete = events[-1]["data"]["data"]
    text = "".join(chunk["content"] for chunk in chunks)
    assert text and text == complete["result"]["result"]["summary"]
    assert complete["total_chunks"] == len(chunks)


async def test_bad_budget_range_is_refused(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A budget range without dollar notation is a 400 naming the field."""
    answer = await company_stack.ask(
        make_user("Leadership"),
        SLUG,
        {"query": PLAIN_QUERY, "filters": {"budget_range": "100-300"}},
        status=400,
    )
    fields = answer["error"]["details"]["invalid_fields"]
    assert [f["field"] for f in fields] == ["filters.budget_range"]


async def test_bad_project_type_lists_the_valid_ones(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A project type outside the closed set is a 400 with the valid options."""
    answer = await company_stack.ask(
        make_user("Leadership"),
        SLUG,
        {"query": PLAIN_QUERY, "filters": {"project_type": "Feature Film"}},
        status=400,
    )
    (field,) = answer["error"]["details"]["invalid_fields"]
    assert (field["field"], field["valid_options"]) == (
        "filters.project_type",
        ["Music Video", "Commercial"],
    )


async def test_unknown_filter_and_option_list_the_known_keys(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Unknown keys are refused together, each with the keys that exist."""
    answer = await company_stack.ask(
        make_user("Leadership"),
        SLUG,
        {
            "query": PLAIN_QUERY,
            "filters": {"mood": "dark"},
            "options": {"max_results": 0, "colour": True},
        },
        status=400,
    )
    fields = {f["field"]: f for f in answer["error"]["details"]["invalid_fields"]}
    assert sorted(fields) == ["filters.mood", "options.colour", "options.max_results"]
    assert "genre" in fields["filters.mood"]["valid_options"]
    assert "similarity_threshold" in fields["options.colour"]["valid_options"]
