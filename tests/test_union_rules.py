"""The rules files: every figure has a source, an effective date and a status."""

from __future__ import annotations

import datetime as dt

import pytest

from onevice.agents.union_rules import (
    ASSUMPTION,
    COLUMNS,
    UNION_STATUSES,
    RulesFileError,
    parse,
    rate_card,
    union_rules,
)

HEADER = ",".join(COLUMNS)
GOOD_ROW = "r1,SAG-AFTRA,pension_health,P&H,23.5,percent,2025,example.org,confirmed"


def parse_union(*rows: str) -> None:
    parse("\n".join((HEADER, *rows)) + "\n", "test.csv", statuses=UNION_STATUSES)


def test_a_well_formed_row_loads() -> None:
    """A row with every column filled in is accepted."""
    parse_union(GOOD_ROW)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("r1,SAG-AFTRA,pension_health,P&H,23.5,percent,2025,,confirmed", "source"),
        (
            "r1,SAG-AFTRA,pension_health,P&H,23.5,percent,,example.org,confirmed",
            "effective_from is missing",
        ),
        (
            "r1,SAG-AFTRA,pension_health,P&H,23.5,percent,soon,example.org,confirmed",
            "effective_from 'soon'",
        ),
        (
            "r1,SAG-AFTRA,pension_health,P&H,23.5,percent,2025-02-30,example.org,"
            "confirmed",
            "effective_from",
        ),
        (
            "r1,SAG-AFTRA,pension_health,P&H,,percent,2025,example.org,confirmed",
            "without a value must be unconfirmed",
        ),
        (
            "r1,SAG-AFTRA,pension_health,P&H,lots,percent,2025,example.org,confirmed",
            "not a number",
        ),
        (
            "r1,SAG-AFTRA,pension_health,P&H,23.5,percent,2025,example.org,rumoured",
            "status 'rumoured'",
        ),
    ],
)
def test_a_malformed_row_is_refused(row: str, problem: str) -> None:
    """A row without a source, an effective date, or a sound value is refused."""
    with pytest.raises(RulesFileError, match=problem):
        parse_union(row)


def test_the_refusal_names_the_line() -> None:
    """The error says which line of which file is wrong."""
    bad = (
        "r2,DGA,director_day_minimum,Director,,dollars per day,2023-12-01,,unconfirmed"
    )
    with pytest.raises(RulesFileError, match=r"test\.csv line 3: source is missing"):
        parse_union(GOOD_ROW, bad)


def test_an_id_used_twice_is_refused() -> None:
    """Row ids are what answers cite, so each must be unique."""
    with pytest.raises(RulesFileError, match="used twice"):
        parse_union(GOOD_ROW, GOOD_ROW)


def test_other_columns_are_refused() -> None:
    """A file whose header is not the agreed columns is refused."""
    with pytest.raises(RulesFileError, match="columns"):
        parse("id,union,value\nr1,DGA,1\n", "test.csv", statuses=UNION_STATUSES)


def test_the_rate_card_takes_only_assumptions() -> None:
    """The company rate card may not pass its figures off as union rules."""
    with pytest.raises(RulesFileError, match="status 'confirmed'"):
        parse(f"{HEADER}\n{GOOD_ROW}\n", "rate_card.csv", statuses=(ASSUMPTION,))


def test_the_shipped_union_rules_load() -> None:
    """The packaged union rules file passes the loader's checks."""
    assert {f.union for f in union_rules().figures} == {"DGA", "IATSE", "SAG-AFTRA"}


def test_the_shipped_rate_card_is_all_assumptions() -> None:
    """Every rate card row is a company planning assumption with a value."""
    figures = rate_card().figures
    assert all(f.status == ASSUMPTION and f.value is not None for f in figures)


def test_figures_without_a_public_source_are_empty_and_unconfirmed() -> None:
    """DGA minimums and IATSE day rates carry no invented figure."""
    empty = {
        f.rule
        for f in union_rules().figures
        if f.union in ("DGA", "IATSE") and f.value is None
    }
    assert {"director_day_minimum", "dp_day_rate", "payroll_fringes"} <= empty


def test_sag_pension_and_health_is_the_confirmed_2025_figure() -> None:
    """The 2025 SAG-AFTRA contract's pension and health rate is 23.5 percent."""
    row = union_rules().current("SAG-AFTRA", "pension_health", dt.date(2026, 1, 1))
    assert row is not None
    assert (str(row.value), row.status, row.source) == (
        "23.5",
        "confirmed",
        "sagaftra.org/commercials2025",
    )


@pytest.mark.parametrize(
    ("day", "row_id"),
    [
        (dt.date(2022, 6, 1), "sag_2022_session_fee"),
        (dt.date(2024, 12, 31), "sag_2022_session_fee"),
        (dt.date(2025, 1, 1), "sag_2025_session_fee"),
    ],
)
def test_the_row_in_force_is_the_latest_to_take_effect(
    day: dt.date, row_id: str
) -> None:
    """Of two session fee rows, the one that took effect last by the day applies."""
    row = union_rules().current("SAG-AFTRA", "session_fee_principal", day)
    assert row is not None and row.id == row_id


def test_nothing_is_in_force_before_the_first_row() -> None:
    """A day before any row took effect has no figure at all."""
    rules = union_rules()
    assert (
        rules.current("SAG-AFTRA", "session_fee_principal", dt.date(2021, 1, 1)) is None
    )
