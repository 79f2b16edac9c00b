"""Talent Discovery: filters, ranking, availability and portfolios, through the API.

Expected answers are computed here from the generated company (its people,
their bookings and the project teams) by the rules the agent documents, not by
calling the agent's code.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import pytest

from onevice.agents.talent_discovery import (
    Criteria,
    Window,
    budget_range,
    next_available,
    parse_search,
    rank,
    split_work,
    union_matches,
)
from onevice.base.errors import ValidationError
from onevice.data.company import TALENT_ROLES
from onevice.identity.tokens import TokenIssuer
from onevice.services.policy import budget_tier
from onevice.storage import talent as talent_table
from onevice.storage.talent import SPECIALIZATIONS, NewTalent, Talent
from tests.fix_agents import CompanyStack
from tests.fix_stack import MakeUser, User
from tests.test_sse import read_sse, submit

SLUG = "talent-discovery"
DAY = dt.timedelta(days=1)


def person(
    name: str,
    *,
    role: str = "Director",
    union: str | None = "DGA",
    specializations: tuple[str, ...] = ("Music Video",),
    day_rate: int = 5_000,
    budget: tuple[int, int] | None = (25_000, 300_000),
    bookings: tuple[tuple[dt.date, dt.date], ...] = (),
) -> Talent:
    return Talent(
        id=f"t_{name.lower()}",
        name=name,
        role=role,
        union_membership=union,
        specializations=specializations,
        day_rate=day_rate,
        budget_min=budget[0] if budget else None,
        budget_max=budget[1] if budget else None,
        bookings=bookings,
    )


# Pure logic


def test_the_closed_sets_are_the_generators() -> None:
    """The roles, specialisations and unions searched are those the data has."""
    assert tuple(TALENT_ROLES) == talent_table.ROLES
    unions = {union for union, _, _ in TALENT_ROLES.values() if union}
    assert set(talent_table.UNIONS) == unions


def test_union_status_filters_by_membership() -> None:
    """Union means any membership, Non-union none, Any everyone, a name that one."""
    assert union_matches("IATSE", "Union") and not union_matches(None, "Union")
    assert union_matches(None, "Non-union") and not union_matches("DGA", "Non-union")
    assert union_matches(None, "Any") and union_matches("DGA", None)
    assert union_matches("DGA", "DGA") and not union_matches("IATSE", "DGA")


def test_named_windows_start_today_and_span_their_days() -> None:
    """next_30_days is the 30 days from today, today included."""
    today = dt.date(2026, 3, 1)
    window = Criteria(availability="next_30_days").window(today)
    assert window == Window(today, dt.date(2026, 3, 30))
    assert Criteria(availability="any").window(today) is None


def test_the_next_free_day_skips_back_to_back_bookings() -> None:
    """With a one-day window, next_available is after every adjoining booking."""
    day = dt.date(2026, 3, 1)
    bookings = [(day + 3 * DAY, day + 5 * DAY), (day, day + 2 * DAY)]
    assert next_available(bookings, Window(day, day)) == day + 6 * DAY
    later = day + 7 * DAY
    assert next_available(bookings, Window(later, later)) == later


def test_next_available_is_the_first_stretch_as_long_as_the_window() -> None:
    """A four-day window does not fit in a three-day gap between bookings."""
    day = dt.date(2026, 3, 1)
    bookings = [(day, day), (day + 4 * DAY, day + 4 * DAY)]
    window = Window(day, day + 3 * DAY)
    assert next_available(bookings, window) == day + 5 * DAY
    assert next_available([], window) == day


def test_score_is_the_share_of_ranked_criteria_met() -> None:
    """Two of three ranked criteria met scores 0.67, and the reasons say which."""
    today = dt.date(2026, 3, 1)
    booked = person("Ana", bookings=((today + 2 * DAY, today + 3 * DAY),))
    criteria = Criteria(
        role="Director",
        specialization="Music Video",
        max_budget=100_000,
        availability="next_7_days",
    )
    [match] = rank([booked], criteria, today)
    assert match.score == 0.67
    met = {reason.criterion: reason.met for reason in match.ranked}
    assert met == {"specialization": True, "max_budget": True, "availability": False}


def test_ranking_puts_score_first_then_the_lower_day_rate() -> None:
    """Full matches come first, cheapest first; who meets nothing ranked is left out."""
    criteria = Criteria(specialization="Music Video", max_day_rate=10_000)
    people = [
        person("Dear", day_rate=9_000),
        person("Cheap", day_rate=4_000),
        person("Partial", day_rate=12_000),
        person("Neither", day_rate=12_000, specializations=("Fashion",)),
    ]
    ranked = rank(people, criteria, dt.date(2026, 3, 1))
    assert [m.person.name for m in ranked] == ["Cheap", "Dear", "Partial"]


def test_a_budget_range_is_only_checked_for_directors() -> None:
    """Crew have no budget range: the budget is not checked and lowers coverage."""
    gaffer = person("Gus", role="Gaffer", union="IATSE", budget=None)
    [match] = rank([gaffer], Criteria(max_budget=50_000), dt.date(2026, 3, 1))
    assert (match.score, match.coverage) == (1.0, 0.0)


def test_budget_ranges_are_written_short_and_exact() -> None:
    """$20,250 to $1,200,000 reads $20.25k-1.2M."""
    director = person("Ana", budget=(20_250, 1_200_000))
    assert budget_range(director) == "$20.25k-1.2M"
    assert budget_range(person("Bo", budget=None)) is None


def test_recent_projects_are_the_newest_three_and_portfolio_the_completed() -> None:
    """Work is ordered by pitch date; the portfolio keeps completed projects."""
    work = [
        {"id": f"p{n}", "status": "Completed" if n % 2 else "In Production"}
        for n in range(5)
    ]
    pitched = {f"p{n}": f"2025-0{n + 1}-01" for n in range(5)}
    portfolio, recent = split_work(work, pitched)
    assert [item["id"] for item in recent] == ["p4", "p3", "p2"]
    assert [item["id"] for item in portfolio] == ["p3", "p1"]


def test_explicit_dates_must_be_real_and_in_order() -> None:
    """February 30th, slashes and a window ending before it starts are all refused."""
    bad = {
        "from": "2026-02-30",
        "to": "2026/03/01",
    }
    with pytest.raises(ValidationError) as caught:
        parse_search({"query": "q", "criteria": {"availability": bad}})
    fields = [p["field"] for p in caught.value.details["invalid_fields"]]
    assert fields == ["criteria.availability.from", "criteria.availability.to"]
    backwards = {"from": "2026-03-02", "to": "2026-03-01"}
    with pytest.raises(ValidationError):
        parse_search({"query": "q", "criteria": {"availability": backwards}})


# Known answers through the API


def booked_in(talent: NewTalent, start: dt.date, end: dt.date) -> bool:
    return any(s <= end and e >= start for s, e in talent.bookings)


def expected_order(
    people: Iterable[NewTalent], tests: Sequence[Any]
) -> list[tuple[str, float]]:
    """(id, score) of people meeting at least one test, ranked as documented."""
    scored = []
    for talent in people:
        met = sum(1 for test in tests if test(talent))
        if met:
            scored.append((met / len(tests), talent.day_rate, talent.name, talent.id))
    scored.sort(key=lambda row: (-row[0], row[1], row[2], row[3]))
    return [(row[3], round(row[0], 2)) for row in scored]


def ids_and_scores(answer: dict[str, Any]) -> list[tuple[str, float]]:
    return [(r["person"]["id"], r["match_score"]) for r in answer["results"]]


async def ask(
    stack: CompanyStack, user: User, criteria: dict[str, Any], **options: Any
) -> dict[str, Any]:
    body = {"query": "Who can do this job?", "criteria": criteria, "options": options}
    return await stack.ask(user, SLUG, body)


async def test_union_directors_ranked_by_specialisation_and_availability(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """DGA directors come back ranked: Music Video and free next 30 days first."""
    today = dt.date.today()
    last = today + 29 * DAY
    directors = [
        t
        for t in company_stack.company.talent
        if t.role == "Director" and t.union_membership == "DGA"
    ]
    expected = expected_order(
        directors,
        [
            lambda t: "Music Video" in t.specializations,
            lambda t: not booked_in(t, today, last),
        ],
    )
    assert any(score == 1.0 for _, score in expected), "the data has a full match"
    answer = await ask(
        company_stack,
        make_user("Leadership"),
        {
            "role": "Director",
            "union_status": "DGA",
            "specialization": "Music Video",
            "availability": "next_30_days",
        },
    )
    assert ids_and_scores(answer) == expected


async def test_filters_applied_echo_the_concrete_window(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """next_30_days is echoed with today and the 30th day as dates."""
    today = dt.date.today()
    answer = await ask(
        company_stack,
        make_user(),
        {"role": "Gaffer", "union_status": "Union", "availability": "next_30_days"},
    )
    assert answer["filters_applied"]["availability"] == {
        "requested": "next_30_days",
        "from": today.isoformat(),
        "to": (today + 29 * DAY).isoformat(),
    }
    assert answer["filters_applied"]["required"] == ["role", "union_status"]


def first_free_stretch(talent: NewTalent, start: dt.date, end: dt.date) -> dt.date:
    """By trying each day: the first from ``start`` free for as long as the window."""
    day, length = start, end - start
    while booked_in(talent, day, day + length):
        day += DAY
    return day


async def test_explicit_dates_report_status_and_next_free_stretch(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """In an explicit window, status and the next free stretch are right for all."""
    start, end = dt.date.today() + 10 * DAY, dt.date.today() + 20 * DAY
    directors = {t.id: t for t in company_stack.company.talent if t.role == "Director"}
    answer = await ask(
        company_stack,
        make_user(),
        {
            "role": "Director",
            "max_day_rate": 1_000_000,
            "availability": {"from": start.isoformat(), "to": end.isoformat()},
        },
    )
    expected = expected_order(
        directors.values(), [lambda t: True, lambda t: not booked_in(t, start, end)]
    )
    assert ids_and_scores(answer) == expected
    assert {r["availability"]["status"] for r in answer["results"]} == {
        "available",
        "booked",
    }
    for result in answer["results"]:
        talent = directors[result["person"]["id"]]
        status = "booked" if booked_in(talent, start, end) else "available"
        assert result["availability"] == {
            "status": status,
            "next_available": first_free_stretch(talent, start, end).isoformat(),
            "booking_rate": f"${talent.day_rate:,}/day",
        }


async def test_without_a_window_availability_is_for_today(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Without an availability criterion, status is for today and nobody is dropped."""
    today = dt.date.today()
    crew = {t.id: t for t in company_stack.company.talent if t.role == "Performer"}
    answer = await ask(company_stack, make_user(), {"role": "Performer"})
    assert {r["person"]["id"] for r in answer["results"]} == set(crew)
    for result in answer["results"]:
        talent = crew[result["person"]["id"]]
        status = "booked" if booked_in(talent, today, today) else "available"
        free = first_free_stretch(talent, today, today)
        assert result["availability"]["status"] == status
        assert result["availability"]["next_available"] == free.isoformat()


async def test_non_union_search_lists_producers_and_creative_directors(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Non-union keeps exactly the people with no membership, cheapest first."""
    people = [t for t in company_stack.company.talent if t.union_membership is None]
    answer = await ask(company_stack, make_user(), {"union_status": "Non-union"})
    assert ids_and_scores(answer) == expected_order(people, [lambda t: True])
    assert {r["person"]["union_status"] for r in answer["results"]} == {"Non-union"}


async def test_director_budgets_match_when_their_range_starts_below(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """max_budget keeps directors whose budget range starts at or below it."""
    directors = [t for t in company_stack.company.talent if t.role == "Director"]
    ceiling = sorted(t.budget_min or 0 for t in directors)[len(directors) // 2]
    answer = await ask(
        company_stack, make_user(), {"role": "Director", "max_budget": ceiling}
    )
    expected = expected_order(
        directors, [lambda t: t.budget_min is not None and t.budget_min <= ceiling]
    )
    assert ids_and_scores(answer) == expected
    first = answer["results"][0]["person"]
    talent = next(t for t in directors if t.id == first["id"])
    assert talent.budget_min and talent.budget_max
    assert first["budget_range"].startswith("$")


async def test_max_results_cuts_the_ranked_list(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """max_results keeps the best few of the same ranking."""
    user = make_user("Leadership")  # 100 results is above a Salesperson's limit
    whole = await ask(company_stack, user, {}, max_results=100)
    cut = await ask(company_stack, user, {}, max_results=3)
    assert len(whole["results"]) == len(company_stack.company.talent)
    assert ids_and_scores(cut) == ids_and_scores(whole)[:3]


async def test_portfolio_lists_the_projects_the_generator_staffed(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Each listed person's portfolio and recent projects are their own team work."""
    company = company_stack.company
    answer = await ask(
        company_stack, make_user(), {"role": "Producer"}, include_portfolio=True
    )
    assert answer["results"]
    for result in answer["results"]:
        name = result["person"]["name"]
        staffed = {
            p.id: (p, position)
            for p in company.projects
            for position, member, _ in p.team
            if member == name
        }
        newest = sorted(
            staffed, key=lambda pid: (staffed[pid][0].timeline["pitched"], pid)
        )[::-1]
        completed = [pid for pid in newest if staffed[pid][0].status == "Completed"]
        assert [item["id"] for item in result["portfolio"]] == completed
        assert [item["id"] for item in result["recent_projects"]] == newest[:3]
        for item in result["portfolio"] + result["recent_projects"]:
            project, position = staffed[item["id"]]
            assert item["position"] == position
            assert item["client"] == project.client
            assert item["budget_tier"] == budget_tier(project.budget_amount)


async def test_portfolio_shows_tiers_never_amounts_to_any_role(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Leadership and a Salesperson get the same people; project amounts never show."""
    company = company_stack.company
    criteria = {"role": "Director", "specialization": "Commercial"}
    answers = [
        await ask(company_stack, make_user(role), criteria, include_portfolio=True)
        for role in ("Leadership", "Salesperson")
    ]
    assert answers[0]["results"] == answers[1]["results"]
    amounts = {p.id: p.budget_amount for p in company.projects}
    for answer in answers:
        text = orjson.dumps(answer).decode()
        shown = {
            item["id"]
            for result in answer["results"]
            for item in result["portfolio"] + result["recent_projects"]
        }
        assert shown
        assert not [pid for pid in shown if str(amounts[pid]) in text]


async def test_nobody_matching_says_so_with_lower_confidence(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """IATSE directors do not exist: no results, a plain brief, lower confidence."""
    user = make_user()
    none = await ask(company_stack, user, {"role": "Director", "union_status": "IATSE"})
    some = await ask(company_stack, user, {"role": "Director", "union_status": "DGA"})
    assert none["results"] == []
    assert "Nobody matched" in none["result"]["summary"]
    assert none["confidence_score"] < some["confidence_score"]


async def test_another_organisation_sees_nobody(
    company_stack: CompanyStack, issuer: TokenIssuer
) -> None:
    """A user of another organisation finds none of this company's people."""
    sub = f"user_{uuid.uuid4().hex[:10]}"
    outsider = User(
        sub, "Leadership", issuer.mint(role="Leadership", sub=sub, org_id="org_other")
    )
    answer = await ask(company_stack, outsider, {}, include_portfolio=True)
    assert answer["results"] == []
    names = {t.name for t in company_stack.company.talent}
    assert not [name for name in names if name in answer["result"]["summary"]]


async def test_the_stages_include_portfolio_lookup_only_when_asked(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A search announces its stages in order; the portfolio stage only on request."""
    user = make_user()
    stages = []
    for include in (False, True):
        body = {
            "query": "Who can grade this?",
            "criteria": {"role": "Editor"},
            "options": {"include_portfolio": include},
        }
        query_id = await submit(company_stack.web, user, SLUG, body)
        events = await read_sse(company_stack.web, user, query_id)
        stages.append(
            [e["data"]["data"]["stage"] for e in events if e["event"] == "agent_typing"]
        )
    common = ["criteria_analysis", "talent_search", "availability_check", "ranking"]
    assert stages[0] == [*common, "drafting"]
    assert stages[1] == [*common, "portfolio_lookup", "drafting"]


# Bad input through the API


async def bad_field(
    stack: CompanyStack, user: User, body: dict[str, Any]
) -> dict[str, Any]:
    answer = await stack.ask(user, SLUG, body, status=400)
    assert answer["error"]["code"] == "VALIDATION_ERROR"
    [problem] = answer["error"]["details"]["invalid_fields"]
    return dict(problem)


async def test_an_unknown_role_lists_the_roles(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A role outside the roster is refused with the roster's roles."""
    problem = await bad_field(
        company_stack, make_user(), {"query": "q", "criteria": {"role": "Chef"}}
    )
    assert problem["field"] == "criteria.role"
    assert problem["valid_options"] == list(TALENT_ROLES)


async def test_an_unknown_specialisation_lists_the_specialisations(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A specialisation outside the closed set is refused with the valid ones."""
    body = {"query": "q", "criteria": {"specialization": "music video"}}
    problem = await bad_field(company_stack, make_user(), body)
    assert problem["valid_options"] == list(SPECIALIZATIONS)


async def test_an_unknown_criterion_lists_the_known_ones(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A criterion the agent does not know is refused, naming those it knows."""
    body = {"query": "q", "criteria": {"city": "Los Angeles"}}
    problem = await bad_field(company_stack, make_user(), body)
    assert problem["field"] == "criteria.city"
    assert "availability" in problem["valid_options"]


async def test_a_bad_date_is_refused(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A date that is not YYYY-MM-DD is refused and named."""
    window = {"from": "next monday", "to": "2030-01-10"}
    body = {"query": "q", "criteria": {"availability": window}}
    problem = await bad_field(company_stack, make_user(), body)
    assert problem["field"] == "criteria.availability.from"


async def test_max_results_must_be_from_1_to_100(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """max_results of 0 is refused."""
    body = {"query": "q", "options": {"max_results": 0}}
    problem = await bad_field(company_stack, make_user(), body)
    assert problem["field"] == "options.max_results"
