"""Bidding Support through the API, on the seeded company: estimates by hand."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from onevice.agents.bidding import Options, parse_options, parse_shoot
from onevice.data.company import Company
from onevice.services.policy import BUDGET_TIERS, budget_tier
from tests.fix_agents import CompanyStack
from tests.fix_stack import MakeUser

SLUG = "bidding-support"
TIERS = [label for _, label in BUDGET_TIERS]

#: Union, 2 days in New York, small crew, standard kit, 12-hour days, 2 performers.
NEW_YORK_COMMERCIAL: dict[str, Any] = {
    "query": "Budget a two-day union commercial in New York",
    "project_details": {
        "type": "Commercial",
        "duration_days": 2,
        "location": "New York, NY",
        "union_status": "Union",
        "crew_size": "Small",
        "equipment_level": "Standard",
        "shoot_hours_per_day": 12,
        "performers": 2,
    },
    "options": {
        "include_union_rules": True,
        "include_risk_assessment": True,
        "format": "detailed_breakdown",
    },
}

# The estimate of NEW_YORK_COMMERCIAL, worked out by hand from the rows of
# union_rules.csv (SAG-AFTRA) and rate_card.csv (everything else, union rows):
PRE_PRODUCTION = (
    (2 + 3) * 1500  # producer: 2 shoot days + 3 prep/wrap days
    + (2 + 3) * 950  # production manager (stands in for the DGA UPM minimum)
    + 3675  # 30% union fringes on 12250
)
CREW_LABOUR = (
    2 * 1100  # first AD
    + 2 * 3000  # director of photography
    + 2 * 1100  # gaffer
    + 2 * 1000  # key grip
    + 4 * 2 * 650  # 4 other crew on a small crew, 2 days each
    # overtime: the crew's day (1100 + 3000 + 1100 + 1000 + 4 x 650 = 8800)
    # covers 10 hours, so 880 an hour; 12-hour days pay 2 hours x 1.5 = 3
    # hours a day, over 2 days 6 hours
    + 6 * 880
)
CREW = CREW_LABOUR + 6864  # 30% fringes on 22880
EQUIPMENT = 2 * 3500 + 2 * 3000  # standard camera, lighting and grip packages
LOCATIONS = (
    2 * 4800  # location fee 4000 x New York's 120%
    + 2 * 960  # permits 800 x 120%
    + 6 * 700  # airfare for the travel party of 6
    + 6 * 3 * 350  # hotel and per diem, 6 travellers x (2 shoot days + 1) nights
)
ART = 4 * 1200 + 1440 + 2 * 1500  # designer (2 + 2 prep days), 30%, materials
TALENT = (
    3289  # 2 performers x 2 days x 822.30 SAG-AFTRA session fee = 3289.20
    # overtime past 8 hours: 2 x 1.5 + 2 x 2 = 7 hours a day, x 4 performer-days
    # = 28 hours x 822.30 / 8 = 2878.05
    + 2878
    + 1449  # 23.5% SAG-AFTRA pension and health of 6167 = 1449.245
)
POST = (8 + 2 * 2) * 1200 + 12000  # editor (8 days + 2 a shoot day), finishing
DIRECTOR = 4 * 7500 + 9000 + 2500  # director (2 + 2 prep days), 30%, treatment
COSTS = PRE_PRODUCTION + CREW + EQUIPMENT + LOCATIONS + ART + TALENT + POST + DIRECTOR
INSURANCE = 3309  # 2% of COSTS (165445) = 3308.9
MARKUP = 18648  # 20% of production costs (93238) = 18647.6
CONTINGENCY = 16875  # 10% of COSTS + INSURANCE (168754) = 16875.4
TOTAL = COSTS + INSURANCE + MARKUP + CONTINGENCY


def request(**details: Any) -> dict[str, Any]:
    """The New York commercial with some project details changed."""
    body = copy.deepcopy(NEW_YORK_COMMERCIAL)
    body["project_details"].update(details)
    return body


def expected_comparables(company: Company, total: int) -> list[str]:
    """Commercials in the estimate's tier by id, then those one tier away.

    The similarity measure scores type and budget tier equally: same type and
    tier scores 1, same type one tier away 0.75, anything else at most 0.5.
    """
    ours = TIERS.index(budget_tier(total))
    commercials = sorted(
        (p for p in company.projects if p.type == "Commercial"), key=lambda p: p.id
    )

    def distance(amount: int) -> int:
        return abs(TIERS.index(budget_tier(amount)) - ours)

    same = [p.id for p in commercials if distance(p.budget_amount) == 0]
    near = [p.id for p in commercials if distance(p.budget_amount) == 1]
    return (same + near)[:3]


@pytest.mark.parametrize("role", ["Leadership", "Salesperson"])
async def test_the_estimate_is_the_hand_computed_total(
    company_stack: CompanyStack, make_user: MakeUser, role: str
) -> None:
    """Every role gets the same estimate, equal to the sum worked out by hand."""
    answer = await company_stack.ask(make_user(role), SLUG, NEW_YORK_COMMERCIAL)
    analysis = answer["budget_analysis"]
    assert TOTAL == 204277
    assert analysis["total_estimate"] == f"${TOTAL}"
    assert analysis["breakdown"]["amounts"] == {
        "above_line": DIRECTOR + TALENT,
        "below_line": PRE_PRODUCTION
        + CREW
        + EQUIPMENT
        + LOCATIONS
        + ART
        + INSURANCE
        + MARKUP,
        "post_production": POST,
        "contingency": CONTINGENCY,
        "total": TOTAL,
    }


async def test_the_breakdown_reads_like_the_spec(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """The breakdown lines are dollar strings without separators, as in §2.3."""
    answer = await company_stack.ask(make_user("Leadership"), SLUG, NEW_YORK_COMMERCIAL)
    breakdown = answer["budget_analysis"]["breakdown"]
    assert breakdown["post_production"] == f"${POST}"
    assert breakdown["contingency"] == f"${CONTINGENCY}"


async def test_sections_add_up_to_the_total(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """The detailed breakdown's line items sum to their subtotals and the total."""
    answer = await company_stack.ask(
        make_user("Salesperson"), SLUG, NEW_YORK_COMMERCIAL
    )
    sections = answer["budget_analysis"]["sections"]
    for section in sections:
        amounts = [item["amount"] for item in section["line_items"]]
        assert sum(amounts) == section["subtotal"], section["section"]
    assert sum(s["subtotal"] for s in sections) == TOTAL


async def test_the_answer_names_the_rows_it_used(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """rules_used gives each row's source and status, unconfirmed ones included."""
    answer = await company_stack.ask(
        make_user("Salesperson"), SLUG, NEW_YORK_COMMERCIAL
    )
    union = answer["budget_analysis"]["union_requirements"]
    used = {row["id"]: row for row in union["rules_used"]}
    assert used["sag_2025_pension_health"]["status"] == "confirmed"
    assert used["sag_2025_pension_health"]["source"] == "sagaftra.org/commercials2025"
    assert used["dga_2023_director_day"]["status"] == "unconfirmed"
    assert used["dga_2023_director_day"]["value"] is None
    assert all(row["source"] and row["effective_from"] for row in used.values())
    assert "dga_2023_director_day" in union["unconfirmed_used"]


async def test_the_summary_says_which_figures_are_unconfirmed(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """The written answer states the total and the figures no source confirms."""
    answer = await company_stack.ask(
        make_user("Salesperson"), SLUG, NEW_YORK_COMMERCIAL
    )
    summary = answer["result"]["summary"]
    assert f"${TOTAL:,}" in summary
    assert "DGA day minimum of a director" in summary


async def test_union_requirements_list_each_unions_rows(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """DGA, IATSE and SAG-AFTRA rows in force are shown, with what is unconfirmed."""
    answer = await company_stack.ask(make_user("Leadership"), SLUG, NEW_YORK_COMMERCIAL)
    union = answer["budget_analysis"]["union_requirements"]
    sag = {row["rule"]: row for row in union["sag_requirements"]["rules"]}
    assert sag["overtime_after_hours"]["value"] == 8
    assert sag["session_fee_principal"]["id"] == "sag_2025_session_fee"
    assert "iatse_2022_dp_day" in union["iatse_rates"]["unconfirmed"]
    assert union["dga_requirements"]["applies"] is True


async def test_risks_follow_from_the_request(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Travel, overtime past double time and meal rules make the risk High."""
    answer = await company_stack.ask(
        make_user("Salesperson"), SLUG, NEW_YORK_COMMERCIAL
    )
    risk = answer["risk_assessment"]
    levels = {f["factor"]: f["level"] for f in risk["risk_factors"]}
    assert levels == {
        "travel": "Medium",
        "crew_overtime": "Medium",  # 12 hours: not past the card's 12
        "performers_overtime": "High",  # 12 hours: past SAG-AFTRA's 10
        "meal_penalties": "Low",
        "unconfirmed_union_figures": "Medium",
    }
    assert risk["overall_risk"] == "High"
    assert {m["factor"] for m in risk["mitigation_strategies"]} == set(levels)


async def test_a_short_local_day_is_low_risk(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A non-union 10-hour music video day in Los Angeles has no risk factors."""
    body = request(
        type="Music Video",
        location="Los Angeles, CA",
        union_status="Non-union",
        equipment_level="Basic",
        shoot_hours_per_day=10,
        performers=0,
        duration_days=1,
    )
    answer = await company_stack.ask(make_user("Salesperson"), SLUG, body)
    risk = answer["risk_assessment"]
    assert (risk["overall_risk"], risk["risk_factors"]) == ("Low", [])


async def test_an_estimate_below_every_comparable_is_flagged(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A one-day local commercial falls below every past commercial's tier."""
    body = request(
        location="Los Angeles, CA",
        union_status="Non-union",
        equipment_level="Basic",
        shoot_hours_per_day=10,
        performers=0,
        duration_days=1,
    )
    cheapest = min(
        p.budget_amount
        for p in company_stack.company.projects
        if p.type == "Commercial"
    )
    answer = await company_stack.ask(make_user("Salesperson"), SLUG, body)
    total = answer["budget_analysis"]["breakdown"]["amounts"]["total"]
    assert TIERS.index(budget_tier(total)) < TIERS.index(budget_tier(cheapest))
    factors = answer["risk_assessment"]["risk_factors"]
    assert [(f["factor"], f["level"]) for f in factors] == [
        ("below_comparables", "Low")
    ]


async def test_comparables_are_ranked_by_type_and_tier(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """The three comparables are the commercials closest to the estimate's tier."""
    answer = await company_stack.ask(make_user("Leadership"), SLUG, NEW_YORK_COMMERCIAL)
    found = [p["id"] for p in answer["comparable_projects"]]
    assert found == expected_comparables(company_stack.company, TOTAL)


async def test_leadership_sees_comparable_amounts(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Leadership's comparables carry their stored budget amounts."""
    answer = await company_stack.ask(make_user("Leadership"), SLUG, NEW_YORK_COMMERCIAL)
    stored = {p.id: p.budget_amount for p in company_stack.company.projects}
    shown = {p["id"]: p.get("amount") for p in answer["comparable_projects"]}
    assert shown == {project_id: stored[project_id] for project_id in shown}


async def test_a_salesperson_sees_no_comparable_amounts(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A Salesperson's comparables show tiers and no amounts (spec §4.3)."""
    answer = await company_stack.ask(
        make_user("Salesperson"), SLUG, NEW_YORK_COMMERCIAL
    )
    projects = answer["comparable_projects"]
    assert len(projects) == 3
    assert all("amount" not in p and p["budget_tier"] in TIERS for p in projects)


async def test_confidence_counts_confirmed_lines_and_comparables(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """1 of 30 lines rests only on confirmed rows, and 3 comparables were found."""
    answer = await company_stack.ask(
        make_user("Salesperson"), SLUG, NEW_YORK_COMMERCIAL
    )
    lines = [i for s in answer["budget_analysis"]["sections"] for i in s["line_items"]]
    assert len(lines) == 30
    # 0.5 x match 1.0 + 0.3 x coverage 1/30 + 0.2 x (3 found / 3 enough)
    assert answer["confidence_score"] == round(0.5 + 0.3 / 30 + 0.2, 2) == 0.71


async def test_options_leave_parts_out(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """summary drops the sections; the two include_ flags drop their parts."""
    body = request()
    body["options"] = {
        "format": "summary",
        "include_union_rules": False,
        "include_risk_assessment": False,
    }
    answer = await company_stack.ask(make_user("Salesperson"), SLUG, body)
    analysis = answer["budget_analysis"]
    assert "sections" not in analysis and "risk_assessment" not in answer
    assert set(analysis["union_requirements"]) == {
        "in_force_on",
        "rules_used",
        "unconfirmed_used",
    }
    assert analysis["total_estimate"] == f"${TOTAL}"


async def test_an_unknown_location_lists_the_known_ones(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """A location outside the table is a 400 with the valid options."""
    answer = await company_stack.ask(
        make_user(), SLUG, request(location="Paris, FR"), status=400
    )
    [field] = answer["error"]["details"]["invalid_fields"]
    assert field["field"] == "project_details.location"
    assert field["valid_options"] == [
        "Los Angeles, CA",
        "New York, NY",
        "Atlanta, GA",
        "London, UK",
        "Other",
    ]


async def test_unknown_keys_list_the_known_ones(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Unknown project_details and options keys are refused with the known keys."""
    body = request(weather="sunny")
    body["options"]["depth"] = 2
    answer = await company_stack.ask(make_user(), SLUG, body, status=400)
    fields = {f["field"]: f for f in answer["error"]["details"]["invalid_fields"]}
    assert set(fields) == {"project_details.weather", "options.depth"}
    assert "performers" in fields["project_details.weather"]["valid_options"]
    assert "format" in fields["options.depth"]["valid_options"]


async def test_missing_details_are_named(
    company_stack: CompanyStack, make_user: MakeUser
) -> None:
    """Leaving out required project details names each one."""
    body = {"query": "Budget a shoot", "project_details": {"type": "Commercial"}}
    answer = await company_stack.ask(make_user(), SLUG, body, status=400)
    fields = {f["field"] for f in answer["error"]["details"]["invalid_fields"]}
    assert fields == {
        "project_details.duration_days",
        "project_details.location",
        "project_details.union_status",
        "project_details.crew_size",
        "project_details.equipment_level",
    }


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"duration_days": 31}, "project_details.duration_days"),
        ({"shoot_hours_per_day": 7}, "project_details.shoot_hours_per_day"),
        ({"performers": True}, "project_details.performers"),
        ({"crew_size": "Huge"}, "project_details.crew_size"),
    ],
)
async def test_out_of_range_details_are_refused(
    company_stack: CompanyStack,
    make_user: MakeUser,
    details: dict[str, Any],
    field: str,
) -> None:
    """Numbers outside their bounds and values outside closed sets are a 400."""
    answer = await company_stack.ask(make_user(), SLUG, request(**details), status=400)
    [problem] = answer["error"]["details"]["invalid_fields"]
    assert problem["field"] == field


def test_null_optional_fields_take_their_defaults() -> None:
    """A null hours, performers or option is read as if it were left out."""
    details = {**NEW_YORK_COMMERCIAL["project_details"]}
    details |= {"shoot_hours_per_day": None, "performers": None}
    shoot = parse_shoot(details)
    options = parse_options({"include_union_rules": None, "format": None})
    assert (shoot.hours_per_day, shoot.performers) == (10, 0)
    assert options == Options(union_rules=True, risk_assessment=True, detailed=True)
