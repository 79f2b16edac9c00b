"""The Bidding Support agent: what a shoot will cost, under which union rules.

``POST /agents/bidding-support/query`` (spec §2.3) takes ``project_details``
(type, shoot days, location, union status, crew size, equipment level, and
optionally hours a day and performers) and answers with:

- ``budget_analysis``: the estimate of ``estimator`` in bid-form sections and
  rolled up into the spec's four lines, and ``union_requirements``: the DGA,
  IATSE and SAG-AFTRA rows in force, which rows the estimate used
  (``rules_used``, each with its source and status), and which are
  unconfirmed.
- ``risk_assessment``: factors read from the request and the estimate, each
  with a mitigation (see :func:`assess_risks` for the rule of ``overall_risk``).
- ``comparable_projects``: the three past projects that resemble the shoot
  most, ranked by ``similarity`` on type and budget tier.

Access: the estimate is computed from public union figures and the company
rate card, never from a stored project's budget, so every role gets it in
full. Only the comparable projects come from the stores, through
``ProjectStore.catalog``, which filters budgets by role (spec §4.3): a
project's ``amount`` is shown only where the catalog gives it (Leadership,
and Directors on their own projects). Ranking and the risk of an estimate
above its comparables use budget tiers, which every role sees, so they are
the same for everyone. The written summary names no project amounts.

Confidence: ``match`` 1.0 (the request names nothing to look up),
``coverage`` the share of the estimate's lines that rest only on confirmed
union figures, ``found`` the comparable projects found, ``enough`` 3.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any, Final

from onevice.agents.base import (
    Agent,
    AgentResult,
    AgentRun,
    flag_problems,
    validate_common,
)
from onevice.agents.confidence import confidence
from onevice.agents.estimator import (
    CREW_SIZES,
    DEFAULT_HOURS_PER_DAY,
    EQUIPMENT_LEVELS,
    LOCATIONS,
    PROJECT_TYPES,
    UNION_STATUSES,
    Estimate,
    Line,
    Shoot,
    estimate,
)
from onevice.agents.fields import one_of, unknown_fields, whole_number
from onevice.agents.similarity import Match, Wanted, rank
from onevice.agents.union_rules import UNCONFIRMED, Figure, number, union_rules
from onevice.agents.writing import Brief, Section
from onevice.base.errors import ValidationError
from onevice.services.policy import BUDGET_TIERS, budget_tier

REQUIRED_DETAILS: Final = (
    "type",
    "duration_days",
    "location",
    "union_status",
    "crew_size",
    "equipment_level",
)
OPTIONAL_DETAILS: Final = ("shoot_hours_per_day", "performers")
OPTION_FIELDS: Final = (
    "include_union_rules",
    "include_risk_assessment",
    "format",
    "max_tokens",
    "stream_response",
    "include_sources",
)
FORMATS: Final = ("summary", "detailed_breakdown")
COMPARABLES: Final = 3
#: The budget range comparables are ranked against: the estimate -25%/+25%.
RANGE_BELOW: Final = (3, 4)
RANGE_ABOVE: Final = (5, 4)
UNION_SECTIONS: Final = {
    "dga_requirements": "DGA",
    "iatse_rates": "IATSE",
    "sag_requirements": "SAG-AFTRA",
}
TIER_LABELS: Final = tuple(label for _, label in BUDGET_TIERS)


@dataclasses.dataclass(frozen=True)
class Options:
    """What the answer includes."""

    union_rules: bool = True
    risk_assessment: bool = True
    detailed: bool = True


@dataclasses.dataclass(frozen=True)
class Risk:
    """One risk factor and what to do about it."""

    factor: str
    level: str
    detail: str
    mitigation: str


class BiddingSupportAgent(Agent):
    """Budget estimates with union rules, risks and comparable projects."""

    name = "bidding_support"

    def validate(self, body: Any) -> dict[str, Any]:
        request = validate_common(body)
        problems = _detail_problems(request.get("project_details"))
        problems += _option_problems(request.get("options") or {})
        if problems:
            raise ValidationError(problems)
        return request

    async def run(self, run: AgentRun) -> AgentResult:
        await run.stage("requirements_analysis")
        shoot = parse_shoot(run.request["project_details"])
        options = parse_options(run.request.get("options") or {})
        await run.stage("union_rules")
        rules = union_rules()
        await run.check_cancelled()
        await run.stage("estimating")
        priced = estimate(shoot, rules=rules, on=dt.date.today())
        await run.check_cancelled()
        await run.stage("comparables")
        catalog = await run.sources.projects().catalog(run.viewer)
        matches = comparables(catalog, shoot, priced.total)
        await run.check_cancelled()
        await run.stage("risk_assessment")
        risks = assess_risks(priced, matches)
        await run.stage("drafting")
        brief = write_brief(run.request["query"], priced, risks, matches, options)
        writing = await run.compose(brief)
        body: dict[str, Any] = {
            "result": {"summary": writing.text},
            "budget_analysis": budget_analysis(priced, options),
        }
        if options.risk_assessment:
            body["risk_assessment"] = risk_assessment(risks)
        body["comparable_projects"] = [comparable(m) for m in matches]
        lines = priced.lines()
        coverage = sum(line.confirmed for line in lines) / len(lines)
        score = confidence(
            match=1.0, coverage=coverage, found=len(matches), enough=COMPARABLES
        )
        return AgentResult(body=body, confidence_score=score)


def parse_shoot(details: Mapping[str, Any]) -> Shoot:
    """The shoot of validated ``project_details``."""
    return Shoot(
        project_type=details["type"],
        days=details["duration_days"],
        location=LOCATIONS[details["location"]],
        union=details["union_status"] == "Union",
        crew_size=details["crew_size"],
        equipment_level=details["equipment_level"],
        hours_per_day=_given(details, "shoot_hours_per_day", DEFAULT_HOURS_PER_DAY),
        performers=_given(details, "performers", 0),
    )


def parse_options(options: Mapping[str, Any]) -> Options:
    """The options of a validated request, defaults filled in."""
    return Options(
        union_rules=_given(options, "include_union_rules", True),
        risk_assessment=_given(options, "include_risk_assessment", True),
        detailed=_given(options, "format", "detailed_breakdown")
        == "detailed_breakdown",
    )


def _given(fields: Mapping[str, Any], name: str, default: Any) -> Any:
    """A field's value; ``default`` when it is missing or null."""
    value = fields.get(name)
    return default if value is None else value


def _detail_problems(details: Any) -> list[dict[str, Any]]:
    if details is None:
        details = {}
    if not isinstance(details, dict):
        return []  # validate_common has said it must be an object
    problems = unknown_fields(
        details, "project_details", REQUIRED_DETAILS + OPTIONAL_DETAILS
    )
    problems += [
        {"field": f"project_details.{name}", "error": "Required", "provided": None}
        for name in REQUIRED_DETAILS
        if details.get(name) is None
    ]
    closed = {
        "type": PROJECT_TYPES,
        "location": tuple(LOCATIONS),
        "union_status": UNION_STATUSES,
        "crew_size": CREW_SIZES,
        "equipment_level": EQUIPMENT_LEVELS,
    }
    bounded = {"duration_days": (1, 30), "shoot_hours_per_day": (8, 16)}
    bounded |= {"performers": (0, 50)}
    for name, value in details.items():
        field = f"project_details.{name}"
        if value is None:
            continue
        if name in closed:
            problems += _problems(one_of, value, field, closed[name])
        elif name in bounded:
            problems += _problems(whole_number, value, field, *bounded[name])
    return problems


def _option_problems(options: Mapping[str, Any]) -> list[dict[str, Any]]:
    problems = unknown_fields(options, "options", OPTION_FIELDS)
    problems += flag_problems(
        options, ("include_union_rules", "include_risk_assessment")
    )
    if options.get("format") is not None:
        problems += _problems(one_of, options["format"], "options.format", FORMATS)
    return problems


def _problems(parser: Callable[..., Any], *args: Any) -> list[dict[str, Any]]:
    """The problems a field parser finds, as a list (empty when it parses)."""
    try:
        parser(*args)
    except ValidationError as exc:
        found: list[dict[str, Any]] = exc.details["invalid_fields"]
        return found
    return []


def comparables(
    catalog: Sequence[Mapping[str, Any]], shoot: Shoot, total: int
) -> list[Match]:
    """The past projects most like the shoot: same type, budget around ``total``."""
    low = total * RANGE_BELOW[0] // RANGE_BELOW[1]
    high = total * RANGE_ABOVE[0] // RANGE_ABOVE[1]
    wanted = Wanted(project_type=shoot.project_type, budget=(low, high))
    return rank(catalog, wanted)[:COMPARABLES]


def comparable(match: Match) -> dict[str, Any]:
    """A comparable project as shown: the amount only where the catalog has it."""
    project = match.project
    budget = project.get("budget") or {}
    shown: dict[str, Any] = {
        "id": project["id"],
        "name": project["name"],
        "type": project["type"],
        "budget_tier": budget.get("tier"),
    }
    if "amount" in budget:
        shown["amount"] = budget["amount"]
    shown |= {"similarity_score": match.score, "matching_aspects": list(match.aspects)}
    return shown


def assess_risks(priced: Estimate, matches: Sequence[Match]) -> list[Risk]:
    """The risk factors of a shoot and its estimate, each with a mitigation.

    ``overall_risk`` (see :func:`overall_risk`) is High when a factor is High
    or three or more are Medium, Medium when any factor is Medium, else Low.
    """
    shoot = priced.shoot
    return [
        *_schedule_risk(shoot),
        *_travel_risk(priced),
        *_overtime_risks(priced),
        *_meal_risk(shoot, priced.on),
        *_equipment_risk(shoot),
        *_unconfirmed_risk(priced),
        *_comparables_risk(priced.total, matches),
    ]


def overall_risk(risks: Sequence[Risk]) -> str:
    """High: any High factor or three Medium ones; Medium: any Medium; else Low."""
    levels = [risk.level for risk in risks]
    if "High" in levels or levels.count("Medium") >= 3:
        return "High"
    return "Medium" if "Medium" in levels else "Low"


def _schedule_risk(shoot: Shoot) -> list[Risk]:
    if shoot.days < 5:
        return []
    return [
        Risk(
            "long_schedule",
            "High" if shoot.days >= 10 else "Medium",
            f"{shoot.days} shoot days leave more room for weather, availability "
            "and fatigue to move the schedule.",
            "Hold cover days and book key crew and talent for the whole run.",
        )
    ]


def _travel_risk(priced: Estimate) -> list[Risk]:
    location = priced.shoot.location
    if not location.travel:
        return []
    travel = _amount(priced, "locations_travel", ("Airfare", "Hotel and per diem"))
    return [
        Risk(
            "travel",
            "Medium",
            f"Shooting in {location.name} means travel: ${travel:,} of airfare, "
            "hotel and per diem is in the estimate.",
            "Book travel early and hire locally for roles that need not travel.",
        )
    ]


def _overtime_risks(priced: Estimate) -> list[Risk]:
    hours = priced.shoot.hours_per_day
    found = []
    for key, item, who in (
        ("shoot_crew", "Crew overtime", "crew"),
        ("talent", "Performers' overtime", "performers"),
    ):
        line = _line(priced, key, item)
        if line is None:
            continue
        double = hours > _rule_value(line, "double_time_after_hours")
        found.append(
            Risk(
                f"{who}_overtime",
                "High" if double else "Medium",
                f"{hours}-hour days put the {who} past the hours a day covers: "
                f"${line.amount:,} of overtime"
                f"{' (some at double time)' if double else ''} is in the estimate.",
                f"Plan {int(_rule_value(line, 'overtime_after_hours'))}-hour days "
                f"for the {who} or add a shoot day, and compare its cost with the "
                "overtime.",
            )
        )
    return found


def _meal_risk(shoot: Shoot, on: dt.date) -> list[Risk]:
    if not shoot.union or shoot.performers == 0:
        return []
    meal = union_rules().current("SAG-AFTRA", "first_meal_within_hours", on)
    if meal is None or meal.value is None or shoot.hours_per_day <= meal.value:
        return []
    within = number(meal.value)
    return [
        Risk(
            "meal_penalties",
            "Low",
            f"SAG-AFTRA performers must get their first meal within {within} hours "
            "of call; the penalty for a late meal is unconfirmed and not in the "
            "estimate.",
            f"Schedule the first meal break no later than {within} hours after call.",
        )
    ]


def _equipment_risk(shoot: Shoot) -> list[Risk]:
    if shoot.equipment_level != "Premium":
        return []
    return [
        Risk(
            "premium_equipment",
            "Low",
            "A premium camera and lighting package costs more to rent, insure "
            "and replace.",
            "Confirm the package, its availability and its insurance with the "
            "rental house before the bid goes out.",
        )
    ]


def _unconfirmed_risk(priced: Estimate) -> list[Risk]:
    unconfirmed = [
        line
        for line in priced.lines()
        if any(f.status == UNCONFIRMED for f in line.figures)
    ]
    if not unconfirmed:
        return []
    return [
        Risk(
            "unconfirmed_union_figures",
            "Medium",
            f"{len(unconfirmed)} lines rest on union figures that are unconfirmed; "
            "company rates stand in where no figure is known.",
            "Check those figures against the unions' official rate sheets before "
            "the bid goes out.",
        )
    ]


def _comparables_risk(total: int, matches: Sequence[Match]) -> list[Risk]:
    tiers = [
        TIER_LABELS.index(tier)
        for tier in (m.project.get("budget", {}).get("tier") for m in matches)
        if tier in TIER_LABELS
    ]
    ours = TIER_LABELS.index(budget_tier(total))
    if not tiers or min(tiers) <= ours <= max(tiers):
        return []
    above = ours > max(tiers)
    return [
        Risk(
            "above_comparables" if above else "below_comparables",
            "Medium" if above else "Low",
            f"The estimate's tier ({budget_tier(total)}) is "
            f"{'above' if above else 'below'} every comparable project's tier.",
            "Explain what the shoot needs that past projects did not."
            if above
            else "Check that nothing the client expects is left out of the bid.",
        )
    ]


def _line(priced: Estimate, key: str, item: str) -> Line | None:
    section = next(s for s in priced.sections if s.key == key)
    return next((line for line in section.lines if line.item == item), None)


def _amount(priced: Estimate, key: str, items: Sequence[str]) -> int:
    found = (_line(priced, key, item) for item in items)
    return sum(line.amount for line in found if line is not None)


def _rule_value(line: Line, rule: str) -> float:
    values = [f.value for f in line.figures if f.rule == rule and f.value is not None]
    return float(values[0]) if values else 0.0


def risk_assessment(risks: Sequence[Risk]) -> dict[str, Any]:
    """The spec's ``risk_assessment`` object."""
    return {
        "overall_risk": overall_risk(risks),
        "risk_factors": [
            {"factor": r.factor, "level": r.level, "detail": r.detail} for r in risks
        ],
        "mitigation_strategies": [
            {"factor": r.factor, "strategy": r.mitigation} for r in risks
        ],
    }


def budget_analysis(priced: Estimate, options: Options) -> dict[str, Any]:
    """The spec's ``budget_analysis``: total, breakdown, sections, union rules."""
    rollup = priced.rollup()
    analysis: dict[str, Any] = {
        "total_estimate": f"${priced.total}",
        "breakdown": {
            **{line: f"${amount}" for line, amount in rollup.items()},
            "amounts": {**rollup, "total": priced.total},
        },
    }
    if options.detailed:
        analysis["sections"] = [
            {
                "section": section.title,
                "key": section.key,
                "line_items": [line_item(line) for line in section.lines],
                "subtotal": section.subtotal,
            }
            for section in priced.sections
        ]
    analysis["union_requirements"] = union_requirements(priced, options)
    return analysis


def line_item(line: Line) -> dict[str, Any]:
    """A line as the bid shows it."""
    return {
        "item": line.item,
        "quantity": _number(line.quantity),
        "unit": line.unit,
        "rate": _number(line.rate),
        "amount": line.amount,
        "basis": line.basis(),
        "rules": [figure.id for figure in line.figures],
        "confirmed": line.confirmed,
    }


def _number(value: Fraction) -> int | float:
    if value.denominator == 1:
        return int(value)
    return round(float(value), 4)


def union_requirements(priced: Estimate, options: Options) -> dict[str, Any]:
    """The union rows in force, and the rows the estimate rests on."""
    used = priced.figures_used()
    shown: dict[str, Any] = {"in_force_on": priced.on.isoformat()}
    if options.union_rules:
        shoot = priced.shoot
        for key, union in UNION_SECTIONS.items():
            applies = shoot.union and (union != "SAG-AFTRA" or shoot.performers > 0)
            rows = union_rules().of_union(union, priced.on)
            shown[key] = {
                "applies": applies,
                "rules": [row.shown() for row in rows],
                "unconfirmed": [row.id for row in rows if not row.confirmed],
            }
    shown["rules_used"] = [figure.shown() for figure in used]
    shown["unconfirmed_used"] = [f.id for f in used if f.status == UNCONFIRMED]
    return shown


def write_brief(
    question: str,
    priced: Estimate,
    risks: Sequence[Risk],
    matches: Sequence[Match],
    options: Options,
) -> Brief:
    """The facts of the answer as sentences: no project amounts among them."""
    sections = [
        Section("Estimate", _estimate_sentences(priced)),
        Section("Largest costs", _largest_sentences(priced), essential=False),
        Section("Union figures", _union_sentences(priced)),
        Section("Union rules used", _rule_sentences(priced), essential=False),
    ]
    if options.risk_assessment:
        sections.append(Section("Risk", _risk_sentences(risks)))
    sections.append(
        Section("Comparable projects", _comparable_sentences(matches), essential=False)
    )
    return Brief(question, tuple(sections), detailed=options.detailed)


def _estimate_sentences(priced: Estimate) -> tuple[str, ...]:
    shoot = priced.shoot
    status = "union" if shoot.union else "non-union"
    performers = {0: "no performers", 1: "one performer"}.get(
        shoot.performers, f"{shoot.performers} performers"
    )
    rollup = priced.rollup()
    return (
        f"The estimate for a {shoot.days}-day {status} {shoot.project_type.lower()} "
        f"shoot in {shoot.location.name}, with a {shoot.crew_size.lower()} crew, "
        f"{shoot.equipment_level.lower()} equipment, {shoot.hours_per_day}-hour "
        f"days and {performers}, is ${priced.total:,}.",
        f"Above the line is ${rollup['above_line']:,}, below the line "
        f"${rollup['below_line']:,}, post-production ${rollup['post_production']:,} "
        f"and contingency ${rollup['contingency']:,}.",
    )


def _largest_sentences(priced: Estimate) -> tuple[str, ...]:
    largest = sorted(priced.sections, key=lambda s: -s.subtotal)[:3]
    named = ", ".join(f"{s.title.lower()} (${s.subtotal:,})" for s in largest)
    return (f"The largest sections are {named}.",)


def _union_sentences(priced: Estimate) -> tuple[str, ...]:
    lines = priced.lines()
    confirmed = sum(line.confirmed for line in lines)
    sentences = [
        f"{confirmed} of the {len(lines)} lines "
        f"{'rests' if confirmed == 1 else 'rest'} only on confirmed union figures."
    ]
    if not priced.shoot.union:
        sentences.append(
            "The shoot is non-union, so the company rate card prices all of it."
        )
        return tuple(sentences)
    used = priced.figures_used()
    missing = [f for f in used if f.value is None]
    if missing:
        named = "; ".join(f"{f.union} {_lower_first(f.description)}" for f in missing)
        sentences.append(
            f"No public figure is known for these, so company rates stand in: {named}."
        )
    doubtful = [f for f in used if f.value is not None and f.status == UNCONFIRMED]
    sentences += [
        f"The {f.union} {_lower_first(f.description)} of {_figure_text(f)} is "
        "unconfirmed and needs checking against the rate sheet."
        for f in doubtful
    ]
    return tuple(sentences)


def _rule_sentences(priced: Estimate) -> tuple[str, ...]:
    return tuple(
        f"{f.union} {_lower_first(f.description)}: {_figure_text(f)} "
        f"({f.status}; {f.source}; from {f.effective_from})."
        for f in priced.figures_used()
        if f.value is not None and f.union in UNION_SECTIONS.values()
    )


def _figure_text(figure: Figure) -> str:
    """A figure as a reader writes it: $822.30 per day, 23.5%, 8 hours."""
    assert figure.value is not None
    value = number(figure.value)
    if figure.unit == "percent":
        return f"{value}%"
    if figure.unit.startswith("dollars"):
        money = f"${value:,.2f}" if isinstance(value, float) else f"${value:,}"
        return f"{money}{figure.unit.removeprefix('dollars')}"
    return f"{value} {figure.unit}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _risk_sentences(risks: Sequence[Risk]) -> tuple[str, ...]:
    return (
        f"Overall risk is {overall_risk(risks).lower()}.",
        *(f"{risk.detail} {risk.mitigation}" for risk in risks),
    )


def _comparable_sentences(matches: Sequence[Match]) -> tuple[str, ...]:
    if not matches:
        return ("No comparable past projects were found.",)
    named = "; ".join(
        f"{m.project['name']} ({m.project.get('budget', {}).get('tier')}, "
        f"similarity {m.score})"
        for m in matches
    )
    return (f"The closest past projects are {named}.",)
