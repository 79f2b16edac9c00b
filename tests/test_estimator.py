"""The estimator's arithmetic, pinned on cases worked out by hand.

The expected figures below come from the rows of ``rules/union_rules.csv`` and
``rules/rate_card.csv`` named in the comments, multiplied out by hand; a
change to either file or to the arithmetic makes these tests fail.
"""

from __future__ import annotations

import datetime as dt
import itertools
from fractions import Fraction

import pytest

from onevice.agents.estimator import (
    CREW_SIZES,
    EQUIPMENT_LEVELS,
    LOCATIONS,
    PROJECT_TYPES,
    Estimate,
    Line,
    Shoot,
    dollars,
    estimate,
    overtime_hours,
)

ON = dt.date(2026, 12, 1)


def atlanta_music_video() -> Estimate:
    """Non-union, 2 days in Atlanta, small crew, basic kit, 1 performer, 10 h."""
    shoot = Shoot(
        project_type="Music Video",
        days=2,
        location=LOCATIONS["Atlanta, GA"],
        union=False,
        crew_size="Small",
        equipment_level="Basic",
        hours_per_day=10,
        performers=1,
    )
    return estimate(shoot, on=ON)


def new_york_commercial() -> Estimate:
    """Union, 2 days in New York, small crew, standard kit, 2 performers, 12 h."""
    shoot = Shoot(
        project_type="Commercial",
        days=2,
        location=LOCATIONS["New York, NY"],
        union=True,
        crew_size="Small",
        equipment_level="Standard",
        hours_per_day=12,
        performers=2,
    )
    return estimate(shoot, on=ON)


def line_of(priced: Estimate, section: str, item: str) -> Line:
    found = next(s for s in priced.sections if s.key == section)
    return next(line for line in found.lines if line.item == item)


@pytest.mark.parametrize(
    ("exact", "whole"),
    [(Fraction(5, 2), 3), (Fraction(49, 20), 2), (Fraction(1299, 2), 650), (0, 0)],
)
def test_dollars_round_halves_up(exact: Fraction, whole: int) -> None:
    """An amount is rounded once to whole dollars, a half going up."""
    assert dollars(Fraction(exact)) == whole


@pytest.mark.parametrize(
    ("hours", "paid"),
    [
        (8, 0),  # within the 8 hours the day covers
        (9, Fraction(3, 2)),  # 1 hour at 1.5x
        (10, 3),  # 2 hours at 1.5x
        (12, 7),  # 2 hours at 1.5x + 2 hours at 2x = 3 + 4
        (16, 15),  # 3 + 6 hours at 2x = 3 + 12
    ],
)
def test_overtime_hours_past_the_thresholds(hours: int, paid: Fraction) -> None:
    """Hours past 8 pay 1.5x up to 10 and 2x beyond (the SAG-AFTRA pattern)."""
    assert overtime_hours(hours, 8, 10, Fraction(3, 2), 2) == paid


def test_the_non_union_sections_by_hand() -> None:
    """Each section of the Atlanta music video matches its hand-worked subtotal."""
    subtotals = {s.key: s.subtotal for s in atlanta_music_video().sections}
    assert subtotals == {
        # (2 shoot + 3 prep/wrap days) x (producer 1500 + non-union PM 750)
        # = 7500 + 3750 = 11250, + 20% non-union fringes 2250
        "pre_production_wrap": 13500,
        # 2 days x (1st AD 800 + DP 2200 + gaffer 850 + key grip 800)
        # + 4 other crew x 2 days x 500 = 9300 + 4000 = 13300; no overtime at
        # 10 hours (the card's day covers 10); + 20% fringes 2660
        "shoot_crew": 15960,
        # 2 days x (basic camera 1500 + basic lighting and grip 1200)
        "equipment": 5400,
        # Atlanta's factor is 90%: 2 x 4000 x 0.9 = 7200 fees, 2 x 800 x 0.9
        # = 1440 permits; travel: 6 x 700 airfare = 4200, 6 travellers x
        # 3 nights x 350 = 6300
        "locations_travel": 19140,
        # designer (2 + 2 prep) x 1200 = 4800, + 20% = 960, small-crew
        # materials 2 x 1500 = 3000
        "art": 8760,
        # 1 performer x 2 days x 600 = 1200, no overtime, + 20% = 240
        "talent": 1440,
        # editor (5 + 2 x 2 days) x 900 = 8100, music video finishing 8000
        "post_production": 16100,
        # director (2 + 2 prep) x 5000 = 20000, + 20% = 4000, treatment 2500
        "director_creative": 26500,
        # 2% of the eight sections above (106800) = 2136
        "insurance": 2136,
        # 20% of production costs 13500 + 15960 + 5400 + 19140 + 8760 + 2136
        # = 64896 -> 12979.2, rounded to 12979
        "markup": 12979,
        # 10% of all costs 106800 + 2136 = 108936 -> 10893.6, rounded to 10894
        "contingency": 10894,
    }


def test_the_non_union_total_and_rollup_by_hand() -> None:
    """The Atlanta music video totals $132,809, split as the docstring says."""
    priced = atlanta_music_video()
    assert priced.rollup() == {
        "above_line": 26500 + 1440,  # director and creative fees + talent
        "below_line": 13500 + 15960 + 5400 + 19140 + 8760 + 2136 + 12979,
        "post_production": 16100,
        "contingency": 10894,
    }
    assert priced.total == 106800 + 2136 + 12979 + 10894 == 132809


def test_union_performers_are_paid_by_the_sag_aftra_rows() -> None:
    """Session fees, overtime and pension and health follow the SAG-AFTRA rows."""
    priced = new_york_commercial()
    amounts = [
        line.amount
        for line in next(s for s in priced.sections if s.key == "talent").lines
    ]
    assert amounts == [
        # 2 performers x 2 days x 822.30 (sag_2025_session_fee) = 3289.20
        3289,
        # 12-hour days: (10 - 8) x 1.5 + (12 - 10) x 2 = 7 straight-time hours
        # a day; 4 performer-days x 7 = 28 hours x 822.30 / 8 = 2878.05
        2878,
        # 23.5% (sag_2025_pension_health) of 3289 + 2878 = 6167 -> 1449.245
        1449,
    ]


def test_union_crew_overtime_uses_the_card_where_iatse_has_no_figure() -> None:
    """Crew overtime past 10 hours is priced on the whole crew's day rates."""
    crew = line_of(new_york_commercial(), "shoot_crew", "Crew overtime")
    # Crew day: 1st AD 1100 + DP 3000 + gaffer 1100 + key grip 1000 + 4 x 650
    # = 8800, over the 10 hours it covers = 880 an hour; 12-hour days pay
    # 2 hours x 1.5 = 3 hours a day, x 2 days = 6 hours -> 5280
    assert (crew.quantity, crew.rate, crew.amount) == (Fraction(6), Fraction(880), 5280)
    assert {"iatse_2022_overtime_after", "card_overtime_after"} <= {
        f.id for f in crew.figures
    }


def test_a_stand_in_line_cites_the_unconfirmed_row_and_the_card() -> None:
    """The union director's fee names the empty DGA row and the card's rate."""
    director = line_of(new_york_commercial(), "director_creative", "Director")
    assert [f.id for f in director.figures] == [
        "dga_2023_director_day",
        "card_director_day_union",
        "card_director_prep_days",
    ]
    assert director.amount == (2 + 2) * 7500


def test_only_lines_on_confirmed_rows_count_as_confirmed() -> None:
    """Of the union commercial's lines, only pension and health is fully confirmed."""
    confirmed = [line.item for line in new_york_commercial().lines() if line.confirmed]
    assert confirmed == ["SAG-AFTRA pension and health"]


def test_no_performers_means_no_talent_lines() -> None:
    """A shoot without performers has an empty talent section."""
    shoot = Shoot(
        project_type="Music Video",
        days=1,
        location=LOCATIONS["Los Angeles, CA"],
        union=True,
        crew_size="Medium",
        equipment_level="Premium",
    )
    talent = next(s for s in estimate(shoot, on=ON).sections if s.key == "talent")
    assert talent.lines == ()


@pytest.mark.parametrize(
    ("project_type", "union", "crew_size", "equipment_level", "location"),
    list(
        itertools.product(
            PROJECT_TYPES, (True, False), CREW_SIZES, EQUIPMENT_LEVELS, LOCATIONS
        )
    ),
)
def test_every_line_is_its_quantity_times_its_rate(
    project_type: str, union: bool, crew_size: str, equipment_level: str, location: str
) -> None:
    """Each amount is quantity x rate rounded once, and the parts add up."""
    shoot = Shoot(
        project_type=project_type,
        days=4,
        location=LOCATIONS[location],
        union=union,
        crew_size=crew_size,
        equipment_level=equipment_level,
        hours_per_day=13,
        performers=3,
    )
    priced = estimate(shoot, on=ON)
    assert all(
        line.amount == dollars(line.quantity * line.rate) for line in priced.lines()
    )
    assert sum(priced.rollup().values()) == priced.total
