"""Talent Discovery: who on the roster can direct or crew this job (spec §2.3).

A search reads the people of the viewer's organisation and their bookings from
PostgreSQL, keeps those who pass the required filters, scores and ranks the
rest against the other criteria, and, when asked, adds the projects each one
worked on from the knowledge graph. The question's text is not parsed into
criteria: the ``criteria`` object is the search, and ``filters_applied`` echoes
it as understood, with the availability window as concrete dates.

Required filters (a person who fails one is not listed):

- ``role``: one of the roster's roles (``storage.talent.ROLES``).
- ``union_status``: ``DGA``, ``IATSE`` or ``SAG-AFTRA`` (that membership),
  ``Union`` (any membership), ``Non-union`` (none); ``Any`` filters nothing.

Ranked criteria (each one met, missed, or not checkable for that person):

- ``specialization``: the person lists it.
- ``max_budget``: a director's budget range starts at or below it, that is the
  director takes on jobs of that budget or smaller. Only directors have a
  budget range; for anyone else this criterion is not checkable.
- ``max_day_rate``: the day rate is at or below it.
- ``availability``: no booking overlaps the window. ``next_N_days`` is the N
  days starting today (today included); ``{"from", "to"}`` are inclusive
  dates. ``any`` ranks nothing.

``match_score`` is the share of the ranked criteria checkable for a person that
the person meets (1.0 when none were checkable), and ``match_reasons`` lists
every criterion, required ones included, with whether it was met and why, so
the score explains itself. A person who meets none of the checkable ranked
criteria answers nothing that was asked and is left out. Results are ordered
by score, highest first, then by day rate, lowest first, then by name and id.

Availability is reported on the search's window, or on today alone when the
search has none: ``status`` is ``booked`` if a booking overlaps it, and
``next_available`` is the first day, from the window's start on, that begins a
free stretch as long as the window (the window's start when available; with
today's window, simply the next free day).

With ``include_portfolio``, ``portfolio`` lists the completed projects a person
worked on and ``recent_projects`` the latest three of any status (newest pitch
first, dates from the viewer's project catalog), each with the position held,
the client, the budget tier (never an amount) and the status.

``confidence_score`` (see ``confidence``): ``match`` is 1.0 (a search by
criteria names nothing to find), ``coverage`` the mean share of the criteria
that could be checked for the people listed (0 when nobody is listed),
``found`` the people listed who meet every checkable criterion, and ``enough``
``max_results`` capped at five: partial matches do not add confidence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

from onevice.agents.base import Agent, AgentResult, AgentRun, validate_common
from onevice.agents.confidence import confidence, mean
from onevice.agents.fields import one_of, unknown_fields, whole_number
from onevice.agents.writing import Brief, Section
from onevice.base.errors import ValidationError
from onevice.storage.talent import ROLES, SPECIALIZATIONS, UNIONS, Talent, TalentGraph

T = TypeVar("T")
#: A person's (portfolio, recent projects)
Work = tuple[list[dict[str, Any]], list[dict[str, Any]]]

UNION_STATUSES: Final = ("Union", "Non-union", "Any", *UNIONS)
#: Named availability windows and how many days, from today, each covers.
WINDOW_DAYS: Final = {"next_7_days": 7, "next_30_days": 30, "next_90_days": 90}
AVAILABILITY: Final = (*WINDOW_DAYS, "any")
CRITERIA: Final = (
    "role",
    "union_status",
    "specialization",
    "max_budget",
    "max_day_rate",
    "availability",
)
OPTIONS: Final = (
    "include_portfolio",
    "include_availability",
    "max_results",
    "format",
    "max_tokens",
    "stream_response",
    "include_sources",
)
FORMATS: Final = ("brief", "detailed_brief")
SECTIONS: Final = ("query", "agent", "context", "criteria", "options")
MAX_AMOUNT: Final = 1_000_000_000
MAX_RESULTS: Final = 100
DEFAULT_RESULTS: Final = 20
#: Results that make a solid answer, for the confidence's volume.
ENOUGH: Final = 5
RECENT_PROJECTS: Final = 3
#: People described one by one in the written brief.
IN_BRIEF: Final = 5
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclasses.dataclass(frozen=True)
class Window:
    """A span of days, both ends included."""

    start: dt.date
    end: dt.date

    def overlaps(self, booking: tuple[dt.date, dt.date]) -> bool:
        starts, ends = booking
        return starts <= self.end and ends >= self.start

    def text(self) -> str:
        if self.start == self.end:
            return f"on {self.start.isoformat()}"
        return f"from {self.start.isoformat()} to {self.end.isoformat()}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Criteria:
    """What the search asks for, parsed."""

    role: str | None = None
    union_status: str | None = None
    specialization: str | None = None
    max_budget: int | None = None
    max_day_rate: int | None = None
    #: A name from ``AVAILABILITY`` or explicit dates
    availability: str | Window | None = None

    def window(self, today: dt.date) -> Window | None:
        """The dates a person must be free, or None when availability is not asked."""
        if isinstance(self.availability, Window):
            return self.availability
        days = WINDOW_DAYS.get(self.availability or "")
        if days is None:
            return None
        return Window(today, today + dt.timedelta(days=days - 1))

    def required(self) -> list[str]:
        """The required filters asked for."""
        names = ["role"] if self.role else []
        if self.union_status not in (None, "Any"):
            names.append("union_status")
        return names

    def ranked(self, today: dt.date) -> list[str]:
        """The ranked criteria asked for."""
        asked = {
            "specialization": self.specialization is not None,
            "max_budget": self.max_budget is not None,
            "max_day_rate": self.max_day_rate is not None,
            "availability": self.window(today) is not None,
        }
        return [name for name, given in asked.items() if given]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Options:
    """What to include in the answer, parsed."""

    include_portfolio: bool = False
    include_availability: bool = True
    max_results: int = DEFAULT_RESULTS
    detailed: bool = True


@dataclasses.dataclass(frozen=True)
class Search:
    criteria: Criteria
    options: Options


@dataclasses.dataclass(frozen=True)
class Reason:
    """One criterion for one person: met (True), missed (False), not checkable."""

    criterion: str
    met: bool | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"criterion": self.criterion, "met": self.met, "detail": self.detail}


@dataclasses.dataclass(frozen=True)
class Match:
    """A person who passed the required filters, scored."""

    person: Talent
    required: tuple[Reason, ...]
    ranked: tuple[Reason, ...]

    @property
    def score(self) -> float:
        """The share of the checkable ranked criteria met (1.0 if none checkable)."""
        checked = [reason.met for reason in self.ranked if reason.met is not None]
        return round(mean(1.0 if met else 0.0 for met in checked), 2)

    @property
    def complete(self) -> bool:
        """Meets every criterion that could be checked."""
        return all(reason.met is not False for reason in self.ranked)

    @property
    def coverage(self) -> float:
        """The share of the requested criteria that could be checked."""
        reasons = (*self.required, *self.ranked)
        return mean(0.0 if reason.met is None else 1.0 for reason in reasons)

    @property
    def answers_something(self) -> bool:
        """False when every checkable ranked criterion was missed."""
        return self.score > 0


# Parsing the request


def parse_search(request: Mapping[str, Any]) -> Search:
    """The search a request asks for; ValidationError listing every problem."""
    problems: list[dict[str, Any]] = []
    problems += unknown_fields(request, "", SECTIONS)
    criteria_given: Mapping[str, Any] = request.get("criteria") or {}
    options_given: Mapping[str, Any] = request.get("options") or {}
    problems += unknown_fields(criteria_given, "criteria", CRITERIA)
    problems += unknown_fields(options_given, "options", OPTIONS)
    criteria = _criteria(criteria_given, problems)
    options = _options(options_given, problems)
    if problems:
        raise ValidationError(problems)
    return Search(criteria, options)


def _collect(problems: list[dict[str, Any]], parse: Callable[[], T]) -> T | None:
    """Run ``parse``; on a ValidationError note its problems and give None."""
    try:
        return parse()
    except ValidationError as exc:
        problems.extend(exc.details["invalid_fields"])
        return None


def _criteria(given: Mapping[str, Any], problems: list[dict[str, Any]]) -> Criteria:
    def parsed(name: str, parse: Callable[[Any, str], T]) -> T | None:
        if given.get(name) is None:
            return None
        return _collect(problems, lambda: parse(given[name], f"criteria.{name}"))

    return Criteria(
        role=parsed("role", lambda v, f: one_of(v, f, ROLES)),
        union_status=parsed("union_status", lambda v, f: one_of(v, f, UNION_STATUSES)),
        specialization=parsed(
            "specialization", lambda v, f: one_of(v, f, SPECIALIZATIONS)
        ),
        max_budget=parsed("max_budget", _amount),
        max_day_rate=parsed("max_day_rate", _amount),
        availability=parsed("availability", availability),
    )


def _amount(value: Any, field: str) -> int:
    return whole_number(value, field, 1, MAX_AMOUNT)


def availability(value: Any, field: str) -> str | Window:
    """A named window (``next_30_days``, ``any``) or ``{"from": .., "to": ..}``."""
    if not isinstance(value, dict):
        return one_of(value, field, AVAILABILITY)
    problems = unknown_fields(value, field, ("from", "to"))
    start = _collect(problems, lambda: iso_date(value.get("from"), f"{field}.from"))
    end = _collect(problems, lambda: iso_date(value.get("to"), f"{field}.to"))
    if start and end and end < start:
        problems.append(
            {
                "field": f"{field}.to",
                "error": "Must not be before the from date",
                "provided": value,
            }
        )
    if problems:
        raise ValidationError(problems)
    assert start is not None and end is not None
    return Window(start, end)


def iso_date(value: Any, field: str) -> dt.date:
    """A calendar date written exactly ``YYYY-MM-DD``."""
    if isinstance(value, str) and _DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError.field(
        field, "Must be a date written YYYY-MM-DD", provided=value
    )


def _options(given: Mapping[str, Any], problems: list[dict[str, Any]]) -> Options:
    defaults = Options()
    flags = {}
    for flag in ("include_portfolio", "include_availability"):
        value = given.get(flag, getattr(defaults, flag))
        if not isinstance(value, bool):
            problems.append(
                {
                    "field": f"options.{flag}",
                    "error": "Must be a boolean",
                    "provided": value,
                }
            )
        flags[flag] = value is True
    count = _collect(
        problems,
        lambda: whole_number(
            given.get("max_results", DEFAULT_RESULTS),
            "options.max_results",
            1,
            MAX_RESULTS,
        ),
    )
    form = _collect(
        problems,
        lambda: one_of(
            given.get("format", "detailed_brief"), "options.format", FORMATS
        ),
    )
    return Options(
        include_portfolio=flags["include_portfolio"],
        include_availability=flags["include_availability"],
        max_results=count or DEFAULT_RESULTS,
        detailed=form != "brief",
    )


# Scoring and ranking


def union_matches(membership: str | None, wanted: str | None) -> bool:
    """Whether a person's union membership satisfies ``union_status``."""
    if wanted in (None, "Any"):
        return True
    if wanted == "Union":
        return membership is not None
    if wanted == "Non-union":
        return membership is None
    return membership == wanted


def required_reasons(person: Talent, criteria: Criteria) -> list[Reason]:
    """The required filters for a person; all must be met to be listed."""
    reasons = []
    if criteria.role:
        met = person.role == criteria.role
        reasons.append(Reason("role", met, f"{person.role} (required)"))
    if "union_status" in criteria.required():
        met = union_matches(person.union_membership, criteria.union_status)
        union = union_label(person.union_membership)
        reasons.append(Reason("union_status", met, f"{union} (required)"))
    return reasons


def passes_required(person: Talent, criteria: Criteria) -> bool:
    """Whether a person passes every required filter."""
    return all(reason.met for reason in required_reasons(person, criteria))


def ranked_reasons(
    person: Talent, criteria: Criteria, window: Window | None
) -> list[Reason]:
    """How a person fares on each ranked criterion asked for."""
    reasons = []
    if criteria.specialization:
        reasons.append(_specialization(person, criteria.specialization))
    if criteria.max_budget is not None:
        reasons.append(_budget(person, criteria.max_budget))
    if criteria.max_day_rate is not None:
        met = person.day_rate <= criteria.max_day_rate
        relation = "at or below" if met else "above"
        detail = f"Day rate {per_day(person.day_rate)} is {relation} "
        reasons.append(
            Reason("max_day_rate", met, detail + dollars(criteria.max_day_rate))
        )
    if window is not None:
        reasons.append(_availability(person, window))
    return reasons


def _specialization(person: Talent, wanted: str) -> Reason:
    if wanted in person.specializations:
        return Reason("specialization", True, f"Specialises in {wanted}")
    listed = " and ".join(person.specializations) or "nothing listed"
    return Reason("specialization", False, f"Specialises in {listed}, not {wanted}")


def _budget(person: Talent, max_budget: int) -> Reason:
    if person.budget_min is None:
        return Reason("max_budget", None, "No budget range on file; not checked")
    met = person.budget_min <= max_budget
    relation = "starts at or below" if met else "starts above"
    detail = f"Budget range {budget_range(person)} {relation} {dollars(max_budget)}"
    return Reason("max_budget", met, detail)


def _availability(person: Talent, window: Window) -> Reason:
    clashes = [booking for booking in person.bookings if window.overlaps(booking)]
    if not clashes:
        return Reason("availability", True, f"No booking {window.text()}")
    starts, ends = clashes[0]
    detail = f"Booked from {starts.isoformat()} to {ends.isoformat()}"
    return Reason("availability", False, detail)


def rank(people: Iterable[Talent], criteria: Criteria, today: dt.date) -> list[Match]:
    """The people who pass the required filters and answer something, best first."""
    window = criteria.window(today)
    matches = []
    for person in people:
        if not passes_required(person, criteria):
            continue
        required = required_reasons(person, criteria)
        ranked = ranked_reasons(person, criteria, window)
        match = Match(person, tuple(required), tuple(ranked))
        if match.answers_something:
            matches.append(match)
    return sorted(
        matches,
        key=lambda m: (-m.score, m.person.day_rate, m.person.name, m.person.id),
    )


def next_available(
    bookings: Iterable[tuple[dt.date, dt.date]], window: Window
) -> dt.date:
    """The first day from ``window.start`` that begins a free stretch as long."""
    length = window.end - window.start
    day = window.start
    # Sorted by start, one pass suffices: a booking that begins after the
    # stretch means every later one does too, and ``day`` only moves forward.
    for starts, ends in sorted(bookings):
        if starts <= day + length and ends >= day:
            day = ends + dt.timedelta(days=1)
    return day


def availability_report(person: Talent, window: Window) -> dict[str, Any]:
    """The ``availability`` of a result, on ``window``."""
    booked = any(window.overlaps(booking) for booking in person.bookings)
    return {
        "status": "booked" if booked else "available",
        "next_available": next_available(person.bookings, window).isoformat(),
        "booking_rate": per_day(person.day_rate),
    }


# Showing people and money


def dollars(amount: int) -> str:
    return f"${amount:,}"


def per_day(amount: int) -> str:
    return f"${amount:,}/day"


def _short(amount: int) -> str:
    """``20250`` → ``20.25k``, ``1200000`` → ``1.2M``: exact, only shorter."""
    if amount >= 1_000_000:
        return f"{amount / 1_000_000:g}M"
    if amount >= 1_000:
        return f"{amount / 1_000:g}k"
    return str(amount)


def budget_range(person: Talent) -> str | None:
    """A director's budget range, ``$20k-240k``; None for anyone else."""
    if person.budget_min is None or person.budget_max is None:
        return None
    return f"${_short(person.budget_min)}-{_short(person.budget_max)}"


def union_label(membership: str | None) -> str:
    return membership or "Non-union"


def person_json(person: Talent) -> dict[str, Any]:
    """The ``person`` of a result (spec §2.3)."""
    return {
        "id": person.id,
        "name": person.name,
        "role": person.role,
        "union_status": union_label(person.union_membership),
        "specialization": list(person.specializations),
        "budget_range": budget_range(person),
        "day_rate": per_day(person.day_rate),
    }


def split_work(work: Sequence[Mapping[str, Any]], pitched: Mapping[str, str]) -> Work:
    """(portfolio, recent projects) of one person's projects, newest first."""
    items = [{**project, "pitched": pitched.get(project["id"])} for project in work]
    items.sort(key=lambda item: (item["pitched"] or "", item["id"]), reverse=True)
    portfolio = [item for item in items if item["status"] == "Completed"]
    return portfolio, items[:RECENT_PROJECTS]


def filters_applied(
    criteria: Criteria, options: Options, today: dt.date
) -> dict[str, Any]:
    """The criteria as understood, availability as dates, and how each was used."""
    shown: dict[str, Any] = {
        name: getattr(criteria, name)
        for name in CRITERIA
        if name != "availability" and getattr(criteria, name) is not None
    }
    if criteria.availability is not None:
        window = criteria.window(today)
        requested = "dates" if isinstance(criteria.availability, Window) else None
        shown["availability"] = {
            "requested": requested or criteria.availability,
            "from": window.start.isoformat() if window else None,
            "to": window.end.isoformat() if window else None,
        }
    shown["required"] = criteria.required()
    shown["ranked_by"] = criteria.ranked(today)
    shown["max_results"] = options.max_results
    return shown


# Writing the brief


def search_sentences(criteria: Criteria, today: dt.date) -> list[str]:
    """What was searched for, as the brief says it."""
    required = []
    if criteria.role:
        required.append(f"the role {criteria.role}")
    if "union_status" in criteria.required():
        required.append(f"the union status {criteria.union_status}")
    ranked = []
    if criteria.specialization:
        ranked.append(f"specialisation in {criteria.specialization}")
    if criteria.max_budget is not None:
        ceiling = dollars(criteria.max_budget)
        ranked.append(f"a budget range starting at or below {ceiling}")
    if criteria.max_day_rate is not None:
        ranked.append(f"a day rate at or below {dollars(criteria.max_day_rate)}")
    window = criteria.window(today)
    if window is not None:
        ranked.append(f"no booking {window.text()}")
    sentences = []
    if required:
        sentences.append(f"The search required {_listing(required)}.")
    if ranked:
        sentences.append(f"It ranked people by {_listing(ranked)}.")
    if not required and not ranked:
        sentences.append("No criteria were given, so the whole roster was considered.")
    return sentences


def _listing(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def outcome_sentences(
    candidates: int, listed: Sequence[Match], *, filtered: bool
) -> list[str]:
    """How many people matched, saying plainly when nobody did."""
    complete = sum(1 for match in listed if match.complete)
    if candidates == 0 and not filtered:
        return ["Nobody matched: there is no one on the roster."]
    if candidates == 0:
        return ["Nobody matched: no one on the roster passes the required filters."]
    if not listed:
        return [
            f"Nobody matched: {candidates} people pass the required filters,"
            " but none meets any of the ranked criteria."
        ]
    if complete == 0:
        return [
            "Nobody matched every criterion.",
            f"The {len(listed)} closest are listed, best first.",
        ]
    people = "person matches" if complete == 1 else "people match"
    return [f"{complete} {people} every criterion, of {len(listed)} listed."]


def match_sentence(match: Match) -> str:
    """One listed person, with the score and what it is made of."""
    person = match.person
    reasons = "; ".join(reason.detail for reason in match.ranked)
    lead = (
        f"{person.name}, {person.role} ({union_label(person.union_membership)}),"
        f" {per_day(person.day_rate)}, scores {match.score:.2f}"
    )
    return f"{lead}: {reasons}." if reasons else f"{lead}."


def availability_sentence(
    person: Talent, report: Mapping[str, Any], window: Window
) -> str:
    """Whether a person is free in the window, and if not, from when."""
    free = report["next_available"]
    if report["status"] == "available":
        return f"{person.name} is free {window.text()}."
    if window.start == window.end:
        return f"{person.name} is booked {window.text()}; the next free day is {free}."
    return (
        f"{person.name} is booked {window.text()};"
        f" the first free stretch as long starts {free}."
    )


def work_sentence(person: Talent, recent: Sequence[Mapping[str, Any]]) -> str:
    if not recent:
        return f"{person.name} has no projects on record."
    projects = ", ".join(
        f"{item['name']} ({item['position'].replace('_', ' ')}, {item['status']})"
        for item in recent
    )
    return f"{person.name} recently worked on {projects}."


# The agent


@dataclasses.dataclass
class _Found:
    """What a run has gathered so far."""

    search: Search
    today: dt.date
    #: The availability window, or today alone when the search has none
    window: Window
    candidates: int = 0
    listed: list[Match] = dataclasses.field(default_factory=list)
    availability: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    portfolio: dict[str, Work] = dataclasses.field(default_factory=dict)


class TalentDiscoveryAgent(Agent):
    """Filters and ranks the roster against a job's criteria."""

    name = "talent_discovery"

    def validate(self, body: Any) -> dict[str, Any]:
        request = validate_common(body)
        parse_search(request)
        return request

    async def run(self, run: AgentRun) -> AgentResult:
        await run.stage("criteria_analysis")
        search, today = parse_search(run.request), dt.date.today()
        window = search.criteria.window(today) or Window(today, today)
        found = _Found(search, today, window)
        await run.check_cancelled()

        await run.stage("talent_search")
        criteria = search.criteria
        people = await run.sources.talent().people(run.viewer, role=criteria.role)
        await run.check_cancelled()

        await run.stage("availability_check")
        candidates = [p for p in people if passes_required(p, criteria)]
        found.candidates = len(candidates)
        found.availability = {p.id: availability_report(p, window) for p in candidates}
        await run.check_cancelled()

        await run.stage("ranking")
        ranked = rank(candidates, criteria, today)
        found.listed = ranked[: search.options.max_results]
        await run.check_cancelled()

        if search.options.include_portfolio and found.listed:
            await run.stage("portfolio_lookup")
            found.portfolio = await _portfolios(run, found.listed)
            await run.check_cancelled()

        await run.stage("drafting")
        writing = await run.compose(_brief(run.request["query"], found))
        return AgentResult(
            body=_body(found, writing.text),
            confidence_score=_confidence(found),
        )


async def _portfolios(run: AgentRun, listed: Sequence[Match]) -> dict[str, Work]:
    ids = [match.person.id for match in listed]
    work = await TalentGraph(run.sources.graph()).work(run.viewer, ids)
    catalog = await run.sources.projects().catalog(run.viewer)
    pitched = {
        project["id"]: str(project["timeline"].get("pitched") or "")
        for project in catalog
    }
    return {
        talent_id: split_work(work.get(talent_id, []), pitched) for talent_id in ids
    }


def _brief(question: str, found: _Found) -> Brief:
    criteria, options = found.search.criteria, found.search.options
    listed = found.listed
    sections = [
        Section(
            "Search",
            tuple(
                search_sentences(criteria, found.today)
                + outcome_sentences(
                    found.candidates, listed, filtered=bool(criteria.required())
                )
            ),
        ),
        Section("Matches", tuple(match_sentence(m) for m in listed[:IN_BRIEF])),
    ]
    if options.include_availability:
        sentences = tuple(
            availability_sentence(
                m.person, found.availability[m.person.id], found.window
            )
            for m in listed[:IN_BRIEF]
        )
        sections.append(Section("Availability", sentences, essential=False))
    if found.portfolio:
        sentences = tuple(
            work_sentence(m.person, found.portfolio[m.person.id][1])
            for m in listed[:IN_BRIEF]
        )
        sections.append(Section("Recent work", sentences, essential=False))
    return Brief(question, tuple(sections), detailed=options.detailed)


def _body(found: _Found, summary: str) -> dict[str, Any]:
    options = found.search.options
    results = []
    for match in found.listed:
        person = match.person
        result: dict[str, Any] = {
            "person": person_json(person),
            "match_score": match.score,
            "match_reasons": [r.to_json() for r in (*match.required, *match.ranked)],
        }
        if options.include_availability:
            result["availability"] = found.availability[person.id]
        if options.include_portfolio:
            portfolio, recent = found.portfolio.get(person.id, ([], []))
            result |= {"portfolio": portfolio, "recent_projects": recent}
        results.append(result)
    return {
        "result": {"summary": summary},
        "results": results,
        "filters_applied": filters_applied(found.search.criteria, options, found.today),
    }


def _confidence(found: _Found) -> float:
    listed = found.listed
    return confidence(
        match=1.0,
        coverage=mean((m.coverage for m in listed), empty=0.0),
        found=sum(1 for m in listed if m.complete),
        enough=min(found.search.options.max_results, ENOUGH),
    )
