"""Strict parsing of agent request fields (spec §2.3)."""

from __future__ import annotations

from typing import Any

import pytest

from onevice.agents.fields import (
    budget_range,
    fraction,
    one_of,
    whole_number,
    year_range,
)
from onevice.base.errors import ValidationError


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("$100k-300k", (100_000, 300_000)),
        ("$50k - $250k", (50_000, 250_000)),
        ("$1.5M-3M", (1_500_000, 3_000_000)),
        ("$300k-1M", (300_000, 1_000_000)),
        ("$1M+", (1_000_000, None)),
    ],
)
def test_budget_ranges_parse(raw: str, parsed: tuple[int, int | None]) -> None:
    """Budget ranges in the spec's notation give their bounds in dollars."""
    assert budget_range(raw, "context.budget_range") == parsed


@pytest.mark.parametrize(
    "raw",
    [
        "100-300",
        "$300k-100k",
        "$k-5k",
        "cheap",
        200000,
        None,
        "$" + "9" * 400 + "-" + "9" * 401,  # infinite as a float
        "$" + "9" * 400 + "+",
        "$2000000M+",  # above MAX_BUDGET
    ],
)
def test_bad_budget_ranges_name_the_field(raw: Any) -> None:
    """Anything else is refused, naming the field."""
    with pytest.raises(ValidationError) as caught:
        budget_range(raw, "context.budget_range")
    assert caught.value.details["invalid_fields"][0]["field"] == "context.budget_range"


def test_year_ranges_parse_and_refuse() -> None:
    """ "2020-2025" parses; reversed or out-of-range spans do not."""
    assert year_range("2020-2025", "filters.year_range") == (2020, 2025)
    for raw in ("2025-2020", "1800-1900", "2020", "twenty"):
        with pytest.raises(ValidationError):
            year_range(raw, "filters.year_range")


def test_closed_sets_list_their_options() -> None:
    """A value outside a closed set is refused with the valid options."""
    with pytest.raises(ValidationError) as caught:
        one_of("Movie", "context.project_type", ("Music Video", "Commercial"))
    field = caught.value.details["invalid_fields"][0]
    assert field["valid_options"] == ["Music Video", "Commercial"]


def test_numbers_are_bounded_and_booleans_are_not_numbers() -> None:
    """Whole numbers keep to their bounds; True is not 1; fractions stay in 0..1."""
    assert whole_number(2, "options.depth", 1, 3) == 2
    assert fraction(0.8, "options.similarity_threshold") == 0.8
    for bad in (0, 4, True, "2"):
        with pytest.raises(ValidationError):
            whole_number(bad, "options.depth", 1, 3)
    with pytest.raises(ValidationError):
        fraction(1.5, "options.similarity_threshold")
