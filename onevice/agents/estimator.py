"""A production budget from a few facts about a shoot: arithmetic and nothing else.

:func:`estimate` prices a :class:`Shoot` (type, shoot days, location, union
status, crew size, equipment level, hours a day, performers) from the union
rules and the company rate card (``union_rules``), and lays the result out
the way production companies lay out a bid form.

Where a figure comes from
-------------------------

A union shoot uses a union row when it has a value (SAG-AFTRA's session fee,
overtime hours and pension and health). Where the union row is empty (DGA
minimums, IATSE day rates, fringes and crew overtime), the rate card's
``Union`` row stands in and the line cites both rows, so the answer can say
which figures are unconfirmed. A non-union shoot is priced from the rate
card's ``Non-union`` rows. Rate card rows marked ``Any`` price both.

Sections and what they roll up into
-----------------------------------

=============================  ==================================  ===============
section                        lines                               rolls up into
=============================  ==================================  ===============
pre-production and wrap        producer, production manager,       below the line
labour                         fringes; shoot days + prep/wrap
shooting crew labour           1st AD, DP, gaffer, key grip,       below the line
                               other crew by crew size, overtime,
                               fringes
equipment                      camera, lighting and grip packages  below the line
                               by equipment level, per shoot day
locations and travel           location fees and permits times     below the line
                               the location's cost factor; travel
                               party airfare, hotel and per diem
                               when the location needs travel
art department                 production designer, fringes,       below the line
                               sets/props/wardrobe by crew size
talent                         performers' session fees,           above the line
                               overtime, SAG-AFTRA pension and
                               health (union) or payroll fringes
post-production and editorial  editor days by type and shoot       post_production
                               days, finishing by type
director and creative fees     director (shoot + prep days),       above the line
                               fringes, treatment
insurance                      a percentage of the eight sections  below the line
                               above
markup                         a percentage of production costs    below the line
contingency                    a percentage of all costs           contingency
=============================  ==================================  ===============

Production costs, which the markup is taken over, are the sections a bid
form lists before the director's fees (AICP guidelines put one markup over
them): pre-production and wrap, shooting crew, equipment, locations and
travel, art department and insurance; not director and creative fees,
talent or post. The markup is the production company's and follows the
costs it is taken over, so it rolls into below the line. Contingency is taken
over every cost (all sections but markup and contingency).

Overtime and fringes
--------------------

A day rate covers ``overtime_after_hours``; each hour up to
``double_time_after_hours`` is paid ``overtime_multiplier`` times the straight
hourly rate (the day rate divided by the hours it covers), each hour beyond
at ``double_time_multiplier``. Performers follow the SAG-AFTRA rows on a union
shoot, crew the rate card. Payroll fringes are a percentage of the labour
lines of their section (pre-production, crew, art, director); union talent
carries SAG-AFTRA pension and health instead. Post is priced as a service, so
it carries no fringe line.

Whole dollars
-------------

Every line's amount is ``quantity * rate`` computed exactly (fractions, no
floating point) and rounded once to whole dollars, halves up. A percentage
line has the dollars it is taken over as its quantity and the percentage as
a fraction as its rate. Subtotals, roll-ups and the total are sums of whole
dollars, so every figure can be checked by hand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable
from fractions import Fraction
from typing import Final

from onevice.agents.union_rules import Figure, RuleBook, rate_card, union_rules

PROJECT_TYPES: Final = ("Music Video", "Commercial")
UNION_STATUSES: Final = ("Union", "Non-union")
CREW_SIZES: Final = ("Small", "Medium", "Large")
EQUIPMENT_LEVELS: Final = ("Basic", "Standard", "Premium")
DEFAULT_HOURS_PER_DAY: Final = 10

Number = int | Fraction


@dataclasses.dataclass(frozen=True)
class Location:
    """A place we shoot, as the company plans it (a rate-card assumption)."""

    name: str
    #: percent applied to location fees and permits
    cost_factor: int
    #: whether the travel party flies in (the company is based in Los Angeles)
    travel: bool


LOCATIONS: Final = {
    location.name: location
    for location in (
        Location("Los Angeles, CA", 100, travel=False),
        Location("New York, NY", 120, travel=True),
        Location("Atlanta, GA", 90, travel=True),
        Location("London, UK", 125, travel=True),
        Location("Other", 100, travel=True),
    )
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Shoot:
    """What the estimate is for."""

    project_type: str
    days: int
    location: Location
    union: bool
    crew_size: str
    equipment_level: str
    hours_per_day: int = DEFAULT_HOURS_PER_DAY
    performers: int = 0


@dataclasses.dataclass(frozen=True)
class Line:
    """One line of the bid: ``amount`` is ``quantity * rate`` in whole dollars."""

    item: str
    quantity: Fraction
    unit: str
    rate: Fraction
    amount: int
    figures: tuple[Figure, ...]
    #: counts towards its section's payroll fringes
    labour: bool = False

    @property
    def confirmed(self) -> bool:
        """Every figure the line rests on is a confirmed union rule."""
        return bool(self.figures) and all(f.confirmed for f in self.figures)

    def basis(self) -> str:
        """The rows the line rests on, as a reader can check them."""
        return "; ".join(f"{f.id} ({f.status})" for f in self.figures)


@dataclasses.dataclass(frozen=True)
class Section:
    """A section of the bid form."""

    key: str
    lines: tuple[Line, ...]

    @property
    def title(self) -> str:
        return SECTION_TITLES[self.key]

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)


SECTION_TITLES: Final = {
    "pre_production_wrap": "Pre-production and wrap labour",
    "shoot_crew": "Shooting crew labour",
    "equipment": "Equipment",
    "locations_travel": "Locations and travel",
    "art": "Art department",
    "talent": "Talent",
    "post_production": "Post-production and editorial",
    "director_creative": "Director and creative fees",
    "insurance": "Insurance",
    "markup": "Production company markup",
    "contingency": "Contingency",
}
#: The spec's breakdown lines and the sections that make each.
ROLLUP: Final = {
    "above_line": ("director_creative", "talent"),
    "below_line": (
        "pre_production_wrap",
        "shoot_crew",
        "equipment",
        "locations_travel",
        "art",
        "insurance",
        "markup",
    ),
    "post_production": ("post_production",),
    "contingency": ("contingency",),
}
#: What the markup is taken over (AICP: one markup over production costs).
PRODUCTION_COSTS: Final = (
    "pre_production_wrap",
    "shoot_crew",
    "equipment",
    "locations_travel",
    "art",
    "insurance",
)
#: What insurance is taken over: every section before it.
INSURED: Final = (
    "pre_production_wrap",
    "shoot_crew",
    "equipment",
    "locations_travel",
    "art",
    "talent",
    "post_production",
    "director_creative",
)
#: What contingency is taken over: every cost, not the markup.
CONTINGENT: Final = (*INSURED, "insurance")


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A priced shoot: sections of lines, their roll-up and the total."""

    shoot: Shoot
    sections: tuple[Section, ...]
    #: the day whose rows priced it
    on: dt.date

    @property
    def total(self) -> int:
        return sum(section.subtotal for section in self.sections)

    def subtotal(self, key: str) -> int:
        return next(s.subtotal for s in self.sections if s.key == key)

    def rollup(self) -> dict[str, int]:
        """above_line, below_line, post_production, contingency, in dollars."""
        return {
            line: sum(self.subtotal(key) for key in keys)
            for line, keys in ROLLUP.items()
        }

    def lines(self) -> list[Line]:
        return [line for section in self.sections for line in section.lines]

    def figures_used(self) -> list[Figure]:
        """Every row a line rests on, once each, in the order first used."""
        used = {f.id: f for line in self.lines() for f in line.figures}
        return list(used.values())


def estimate(
    shoot: Shoot,
    *,
    rules: RuleBook | None = None,
    card: RuleBook | None = None,
    on: dt.date | None = None,
) -> Estimate:
    """Price ``shoot`` with the rows in force ``on`` (today unless given)."""
    on = on or dt.date.today()
    prices = Prices(
        shoot,
        rules if rules is not None else union_rules(),
        card if card is not None else rate_card(),
        on,
    )
    sections = [
        Section("pre_production_wrap", _pre_production(prices)),
        Section("shoot_crew", _shoot_crew(prices)),
        Section("equipment", _equipment(prices)),
        Section("locations_travel", _locations_travel(prices)),
        Section("art", _art(prices)),
        Section("talent", _talent(prices)),
        Section("post_production", _post_production(prices)),
        Section("director_creative", _director_creative(prices)),
    ]
    # Each percentage is taken over the sections before it, so order matters.
    for key, over in (
        ("insurance", INSURED),
        ("markup", PRODUCTION_COSTS),
        ("contingency", CONTINGENT),
    ):
        sections.append(_percentage_section(prices, sections, key, over))
    return Estimate(shoot, tuple(sections), on)


def dollars(amount: Fraction) -> int:
    """Whole dollars, halves rounded up (amounts are never negative)."""
    return math.floor(amount + Fraction(1, 2))


def overtime_hours(
    hours: int, after: Number, double_after: Number, rate: Number, double: Number
) -> Fraction:
    """Straight-time hours a day of ``hours`` pays beyond the day rate."""
    first = max(Fraction(0), min(Fraction(hours), Fraction(double_after)) - after)
    beyond = max(Fraction(0), Fraction(hours) - Fraction(double_after))
    return Fraction(rate) * first + Fraction(double) * beyond


@dataclasses.dataclass(frozen=True)
class Price:
    """A figure to price with and the rows it comes from."""

    value: Fraction
    figures: tuple[Figure, ...]


class Prices:
    """Looks figures up for one shoot: a union row with a value, else the card."""

    def __init__(self, shoot: Shoot, rules: RuleBook, card: RuleBook, on: dt.date):
        self.shoot = shoot
        self.rules = rules
        self.card_rows = card
        self.on = on

    def card(self, rule: str) -> Price:
        """The rate card's figure for this shoot's union status, else ``Any``."""
        status = "Union" if self.shoot.union else "Non-union"
        row = self.card_rows.current(status, rule, self.on)
        row = row or self.card_rows.current("Any", rule, self.on)
        if row is None or row.value is None:
            raise LookupError(f"the rate card has no {rule} for {status} shoots")
        return Price(Fraction(row.value), (row,))

    def union(self, union: str, rule: str, card_rule: str | None = None) -> Price:
        """``union``'s figure on a union shoot, else the card's ``card_rule``."""
        fallback = card_rule or rule
        if not self.shoot.union:
            return self.card(fallback)
        row = self.rules.current(union, rule, self.on)
        if row is not None and row.value is not None:
            return Price(Fraction(row.value), (row,))
        standing_in = self.card(fallback)
        cited = (row,) if row is not None else ()
        return Price(standing_in.value, cited + standing_in.figures)

    def overtime(self, union: str) -> Price:
        """Paid straight-time hours past the day, per person per shoot day."""
        parts = [
            self.union(union, rule)
            for rule in (
                "overtime_after_hours",
                "double_time_after_hours",
                "overtime_multiplier",
                "double_time_multiplier",
            )
        ]
        after, double_after, rate, double = (p.value for p in parts)
        hours = overtime_hours(
            self.shoot.hours_per_day, after, double_after, rate, double
        )
        return Price(hours, tuple(f for p in parts for f in p.figures))

    def day_hours(self, union: str) -> Price:
        """The hours a day rate covers."""
        return self.union(union, "overtime_after_hours")


def line(
    item: str,
    quantity: Number,
    unit: str,
    rate: Price,
    *,
    labour: bool = False,
    also: Iterable[Figure] = (),
) -> Line:
    """A line of ``quantity * rate``, rounded once."""
    exact = Fraction(quantity) * rate.value
    figures = tuple(dict.fromkeys((*rate.figures, *also)))
    return Line(
        item, Fraction(quantity), unit, rate.value, dollars(exact), figures, labour
    )


def percentage(item: str, base: int, of: str, percent: Price) -> Line:
    """A line of ``percent`` of ``base`` dollars."""
    rate = Price(percent.value / 100, percent.figures)
    return line(item, base, f"dollars of {of}", rate)


def _pre_production(p: Prices) -> tuple[Line, ...]:
    days = p.shoot.days + p.card("prep_wrap_days").value
    unit = "days (shoot days plus prep and wrap)"
    also = p.card("prep_wrap_days").figures
    labour = [
        line(
            "Producer",
            days,
            unit,
            p.card("producer_day_rate"),
            labour=True,
            also=also,
        ),
        line(
            "Production manager",
            days,
            unit,
            p.union("DGA", "upm_day_minimum", "production_manager_day_rate"),
            labour=True,
            also=also,
        ),
    ]
    return (*labour, *_fringes(p, labour, "DGA"))


def _shoot_crew(p: Prices) -> tuple[Line, ...]:
    days = p.shoot.days
    other = p.card(f"other_crew_{p.shoot.crew_size.lower()}")
    one = Fraction(1)
    people: list[tuple[str, Fraction, Price]] = [
        (
            "First assistant director",
            one,
            p.union("DGA", "first_ad_day_minimum", "first_ad_day_rate"),
        ),
        ("Director of photography", one, p.union("IATSE", "dp_day_rate")),
        ("Gaffer", one, p.union("IATSE", "gaffer_day_rate")),
        ("Key grip", one, p.union("IATSE", "key_grip_day_rate")),
        ("Other crew", other.value, p.union("IATSE", "crew_day_rate")),
    ]
    labour = [
        line(
            item,
            count * days,
            "person-days",
            rate,
            labour=True,
            also=other.figures if item == "Other crew" else (),
        )
        for item, count, rate in people
    ]
    # Overtime is paid on the whole crew's day: the sum of its day rates.
    payroll = Price(
        sum((count * rate.value for _, count, rate in people), Fraction(0)),
        tuple(dict.fromkeys(f for line in labour for f in line.figures)),
    )
    labour.extend(_overtime(p, "Crew overtime", days, payroll, "IATSE"))
    return (*labour, *_fringes(p, labour, "IATSE"))


def _overtime(
    p: Prices, item: str, person_days: Number, day_pay: Price, union: str
) -> list[Line]:
    """Overtime on ``day_pay`` (the pay of one day) over ``person_days``."""
    hours = p.overtime(union)
    if hours.value == 0:
        return []
    covered = p.day_hours(union)
    hourly = Price(day_pay.value / covered.value, day_pay.figures)
    return [
        line(
            item,
            Fraction(person_days) * hours.value,
            "straight-time hours past the day",
            hourly,
            labour=True,
            also=(*hours.figures, *covered.figures),
        )
    ]


def _fringes(p: Prices, labour: Iterable[Line], union: str) -> list[Line]:
    base = sum(line.amount for line in labour if line.labour)
    if base == 0:
        return []
    rate = p.union(union, "payroll_fringes")
    return [percentage("Payroll fringes", base, "labour in this section", rate)]


def _equipment(p: Prices) -> tuple[Line, ...]:
    level = p.shoot.equipment_level.lower()
    days = p.shoot.days
    return (
        line("Camera package", days, "shoot days", p.card(f"camera_package_{level}")),
        line(
            "Lighting and grip package",
            days,
            "shoot days",
            p.card(f"lighting_grip_{level}"),
        ),
    )


def _locations_travel(p: Prices) -> tuple[Line, ...]:
    shoot = p.shoot
    factor = Fraction(shoot.location.cost_factor, 100)
    lines = [
        line(
            f"Location fees ({shoot.location.name}, {shoot.location.cost_factor}%)",
            shoot.days,
            "shoot days",
            _scaled(p.card("location_fee_day"), factor),
        ),
        line(
            f"Permits ({shoot.location.name}, {shoot.location.cost_factor}%)",
            shoot.days,
            "shoot days",
            _scaled(p.card("permit_day"), factor),
        ),
    ]
    if shoot.location.travel:
        party = p.card("travel_party")
        nights = shoot.days + 1
        lines += [
            line(
                "Airfare",
                party.value,
                "travellers",
                p.card("airfare"),
                also=party.figures,
            ),
            line(
                "Hotel and per diem",
                party.value * nights,
                "traveller-nights (shoot days plus one)",
                p.card("hotel_per_diem_night"),
                also=party.figures,
            ),
        ]
    return tuple(lines)


def _scaled(price: Price, factor: Fraction) -> Price:
    return Price(price.value * factor, price.figures)


def _art(p: Prices) -> tuple[Line, ...]:
    prep = p.card("designer_prep_days")
    designer = line(
        "Production designer",
        p.shoot.days + prep.value,
        "days (shoot days plus prep)",
        p.card("production_designer_day_rate"),
        labour=True,
        also=prep.figures,
    )
    materials = line(
        "Sets, props and wardrobe",
        p.shoot.days,
        "shoot days",
        p.card(f"art_materials_{p.shoot.crew_size.lower()}"),
    )
    return (designer, *_fringes(p, [designer], "IATSE"), materials)


def _talent(p: Prices) -> tuple[Line, ...]:
    shoot = p.shoot
    if shoot.performers == 0:
        return ()
    person_days = shoot.performers * shoot.days
    fee = p.union("SAG-AFTRA", "session_fee_principal", "performer_day_rate")
    labour = [
        line(
            "Performers' session fees",
            person_days,
            "performer-days",
            fee,
            labour=True,
        )
    ]
    # On a non-union shoot the SAG-AFTRA rows are not read: the card prices it.
    labour.extend(_overtime(p, "Performers' overtime", person_days, fee, "SAG-AFTRA"))
    base = sum(line.amount for line in labour)
    if not shoot.union:
        return (*labour, *_fringes(p, labour, "SAG-AFTRA"))
    pension = p.union("SAG-AFTRA", "pension_health")
    return (
        *labour,
        percentage("SAG-AFTRA pension and health", base, "performers' pay", pension),
    )


def _post_production(p: Prices) -> tuple[Line, ...]:
    kind = p.shoot.project_type.lower().replace(" ", "_")
    base_days = p.card(f"edit_days_{kind}")
    per_day = p.card("edit_days_per_shoot_day")
    days = base_days.value + per_day.value * p.shoot.days
    return (
        line(
            "Editor",
            days,
            "editing days",
            p.union("IATSE", "editor_day_rate"),
            also=(*base_days.figures, *per_day.figures),
        ),
        line("Finishing and delivery", 1, "lump sum", p.card(f"finishing_{kind}")),
    )


def _director_creative(p: Prices) -> tuple[Line, ...]:
    prep = p.card("director_prep_days")
    director = line(
        "Director",
        p.shoot.days + prep.value,
        "days (shoot days plus prep)",
        p.union("DGA", "director_day_minimum", "director_day_rate"),
        labour=True,
        also=prep.figures,
    )
    treatment = line("Treatment", 1, "lump sum", p.card("treatment_fee"))
    return (director, *_fringes(p, [director], "DGA"), treatment)


def _percentage_section(
    p: Prices, sections: Iterable[Section], key: str, over: tuple[str, ...]
) -> Section:
    base = sum(s.subtotal for s in sections if s.key in over)
    of = {
        "insurance": "costs before insurance",
        "markup": "production costs",
        "contingency": "all costs",
    }[key]
    item = SECTION_TITLES[key]
    return Section(key, (percentage(item, base, of, p.card(key)),))
