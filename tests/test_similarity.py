"""The similarity measure of past projects, with hand-computed scores."""

from __future__ import annotations

from typing import Any

import pytest

from onevice.agents.similarity import (
    Wanted,
    known_words,
    rank,
    tier_span,
    words_of,
)


def project(
    project_id: str = "p1",
    *,
    name: str = "Juno Vale - Low Tide",
    type: str = "Music Video",
    genre: str | None = "Pop",
    tier: str | None = "$100k-300k",
    amount: int | None = None,
    year: int | None = 2023,
    director: str | None = "Ana Reyes",
    client: str | None = "Atlas Records",
    artist: str | None = "Juno Vale",
) -> dict[str, Any]:
    """A catalog item shaped like ``ProjectStore.catalog`` gives them."""
    budget: dict[str, Any] = {"approved": True}
    if tier is not None:
        budget["tier"] = tier
    if amount is not None:
        budget["amount"] = amount
    return {
        "id": project_id,
        "name": name,
        "type": type,
        "genre": genre,
        "year": year,
        "client": client,
        "artist": artist,
        "budget": budget,
        "team": {"director": director} if director else {},
    }


def score_of(item: dict[str, Any], wanted: Wanted) -> float:
    return rank([item], wanted)[0].score


def test_words_drop_stop_words_and_fold_plurals() -> None:
    """Query words are lowercased, stop words and amounts dropped, plurals folded."""
    words = words_of("Find similar Music Videos for Hip-Hop artists, $100k-300k")
    assert words == {"music", "video", "hip-hop", "artist"}


def test_words_keep_joined_words_and_strip_accents() -> None:
    """R&B stays one word, accents go, a possessive "'s" is dropped, "glass" kept."""
    assert words_of("R&B glass Zoë's") == {"r&b", "glass", "zoe"}


def test_nothing_asked_scores_every_project_zero() -> None:
    """With no criteria every project scores 0 on no aspect, in id order."""
    ranked = rank([project("p2"), project("p1")], Wanted())
    assert [(m.project["id"], m.score, m.aspects) for m in ranked] == [
        ("p1", 0.0, ()),
        ("p2", 0.0, ()),
    ]


def test_only_asked_aspects_count() -> None:
    """Asking for the type alone: the right type scores 1 whatever else differs."""
    wanted = Wanted(project_type="Music Video")
    assert score_of(project(genre="Rock", year=1999, tier="$1M+"), wanted) == 1.0


def test_wrong_type_scores_zero() -> None:
    """Asking for the type alone: another type scores 0."""
    assert score_of(project(type="Commercial"), Wanted(project_type="Music Video")) == 0


def test_weighted_average_of_type_genre_and_year() -> None:
    """Type 2x1, genre 2x0, year one out 1x0.5: (2 + 0 + 0.5) / 5 = 0.5."""
    wanted = Wanted(project_type="Music Video", genre="Pop", years=(2023, 2023))
    match = rank([project(genre="Rock", year=2024)], wanted)[0]
    assert (match.score, match.aspects) == (0.5, ("type",))


def test_scores_are_rounded_to_two_places() -> None:
    """Type 2x1 and words 1x0 (one known word missing): 2 / 3 = 0.67."""
    other = project("p2", name="Vela Motors Brand Film", artist=None, genre=None)
    wanted = Wanted(project_type="Music Video", words=frozenset({"vela"}))
    scores = {m.project["id"]: m.score for m in rank([project(), other], wanted)}
    assert scores["p1"] == 0.67


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ("$100k-300k", 1.0),
        ("$300k-1M", 0.5),
        ("$50k-100k", 0.5),
        ("Under $50k", 0.0),
        ("$1M+", 0.0),
    ],
)
def test_budget_scores_by_tier_distance(tier: str, expected: float) -> None:
    """Wanted $100k-300k: same tier 1, next tier 0.5, further 0."""
    assert score_of(project(tier=tier), Wanted(budget=(100_000, 300_000))) == expected


@pytest.mark.parametrize(
    ("budget", "span"),
    [
        ((100_000, 300_000), (2, 2)),
        ((50_000, 150_000), (1, 2)),
        ((300_000, None), (3, 4)),
        ((1_000_000, None), (4, 4)),
        ((10_000, 40_000), (0, 0)),
    ],
)
def test_budget_ranges_reach_tiers(
    budget: tuple[int, int | None], span: tuple[int, int]
) -> None:
    """A range reaches the tiers of both ends, the upper bound exclusive."""
    assert tier_span(budget) == span


def test_wide_budget_range_matches_each_tier_it_reaches() -> None:
    """$50k-150k reaches "$50k-100k" and "$100k-300k" alike."""
    wanted = Wanted(budget=(50_000, 150_000))
    scores = [score_of(project(tier=t), wanted) for t in ("$50k-100k", "$100k-300k")]
    assert scores == [1.0, 1.0]


def test_budget_falls_back_to_the_amount_without_a_tier() -> None:
    """A project with an amount and no tier is placed in the amount's tier."""
    item = project(tier=None, amount=450_000)
    assert score_of(item, Wanted(budget=(300_000, 1_000_000))) == 1.0


def test_budget_unknown_scores_zero() -> None:
    """A project with neither tier nor amount does not match a budget."""
    assert score_of(project(tier=None), Wanted(budget=(100_000, 300_000))) == 0.0


@pytest.mark.parametrize(
    ("year", "expected"), [(2021, 1.0), (2020, 1.0), (2019, 0.5), (2026, 0.0)]
)
def test_year_inside_span_or_decaying(year: int, expected: float) -> None:
    """Inside 2020-2024 is 1, one year out 0.5, two or more out 0."""
    assert score_of(project(year=year), Wanted(years=(2020, 2024))) == expected


def test_missing_year_scores_zero() -> None:
    """A project without a year does not match a span."""
    assert score_of(project(year=None), Wanted(years=(2020, 2024))) == 0.0


def test_director_and_client_compare_by_normalised_name() -> None:
    """Case, accents and punctuation do not matter for names."""
    item = project(director="Zoë O'Neil", client="Atlas Records")
    match = rank([item], Wanted(director="zoe o neil", client="ATLAS records"))[0]
    assert (match.score, match.aspects) == (1.0, ("director", "client"))


def test_other_director_scores_zero() -> None:
    """Another director's project scores 0 on the director aspect."""
    assert score_of(project(director="Ben Okafor"), Wanted(director="Ana Reyes")) == 0


def test_genre_wanted_of_a_project_without_genre_scores_zero() -> None:
    """A commercial has no genre, so it does not match a genre."""
    item = project(type="Commercial", genre=None)
    assert score_of(item, Wanted(genre="Pop")) == 0.0


def test_words_count_only_words_some_project_has() -> None:
    """'moody' is in no project, so 'hip-hop' alone decides the words aspect."""
    hip_hop = project("p1", genre="Hip-hop")
    pop = project("p2", genre="Pop")
    ranked = rank([pop, hip_hop], Wanted(words=frozenset({"hip-hop", "moody"})))
    assert [(m.project["id"], m.score, m.aspects) for m in ranked] == [
        ("p1", 1.0, ("words",)),
        ("p2", 0.0, ()),
    ]


def test_known_words_are_those_some_project_contains() -> None:
    """Of 'juno', 'pop' and 'moody', the first two occur in a project."""
    words = frozenset({"juno", "pop", "moody"})
    assert known_words([project()], words) == {"juno", "pop"}


def test_unknown_words_alone_are_no_criteria() -> None:
    """Words no project contains leave nothing to score by."""
    match = rank([project()], Wanted(words=frozenset({"moody"})))[0]
    assert (match.score, match.aspect_scores) == (0.0, ())


def test_partial_word_overlap_is_the_share_of_known_words() -> None:
    """Known words 'juno' and 'kai': a Juno Vale video has half of them."""
    juno = project("p1")
    kai = project("p2", name="Kai Mercer - Fever", artist="Kai Mercer")
    match = rank([juno, kai], Wanted(words=frozenset({"juno", "kai"})))[0]
    assert dict(match.aspect_scores) == {"words": 0.5}


def test_rank_is_best_first_then_by_id() -> None:
    """Higher scores first; equal scores in project id order."""
    items = [
        project("p3", type="Commercial"),
        project("p2"),
        project("p1"),
    ]
    ranked = rank(items, Wanted(project_type="Music Video"))
    assert [m.project["id"] for m in ranked] == ["p1", "p2", "p3"]


def test_matches_carry_the_project_unchanged() -> None:
    """The catalog item comes back as it went in."""
    item = project(amount=123_000)
    assert rank([item], Wanted(project_type="Music Video"))[0].project == item
