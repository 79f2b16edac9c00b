"""Parsing the fields of agent requests (spec §2.3) strictly.

Each parser takes the raw value and the field's dotted name and either returns
the parsed value or raises a ValidationError naming that field, with
``valid_options`` for closed sets. Nothing is guessed: ``"$100k-300k"`` parses,
``"100-300"`` does not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from onevice.base.errors import ValidationError

_AMOUNT: Final = r"\$(\d+(?:\.\d+)?)([kKmM]?)"
_BUDGET_RANGE: Final = re.compile(
    rf"^\s*{_AMOUNT}\s*-\s*\$?(\d+(?:\.\d+)?)([kKmM]?)\s*$"
)
_BUDGET_FLOOR: Final = re.compile(rf"^\s*{_AMOUNT}\s*\+\s*$")
_YEAR_RANGE: Final = re.compile(r"^\s*(\d{4})\s*-\s*(\d{4})\s*$")
_MULTIPLIERS: Final = {"": 1, "k": 1_000, "m": 1_000_000}
FIRST_YEAR: Final = 1900
LAST_YEAR: Final = 2100
#: Far above any production budget; a larger figure is refused, not rounded
#: (hundreds of digits would make the float infinite).
MAX_BUDGET: Final = 10**12


def _amount(number: str, suffix: str) -> int | None:
    value = float(number) * _MULTIPLIERS[suffix.lower()]
    return round(value) if value <= MAX_BUDGET else None


def budget_range(value: Any, field: str) -> tuple[int, int | None]:
    """``"$100k-300k"`` → (100000, 300000); ``"$1M+"`` → (1000000, None)."""
    if isinstance(value, str):
        if match := _BUDGET_RANGE.match(value):
            # "$100k-300k": a bare upper bound takes the lower bound's unit.
            upper_suffix = match[4] or match[2]
            low, high = _amount(match[1], match[2]), _amount(match[3], upper_suffix)
            if low is not None and high is not None and 0 < low < high:
                return low, high
        elif (match := _BUDGET_FLOOR.match(value)) and (
            floor := _amount(match[1], match[2])
        ) is not None:
            return floor, None
    raise ValidationError.field(
        field, "Must be a budget range such as $100k-300k or $1M+", provided=value
    )


def year_range(value: Any, field: str) -> tuple[int, int]:
    """``"2020-2025"`` → (2020, 2025), years from 1900 to 2100, in order."""
    match = _YEAR_RANGE.match(value) if isinstance(value, str) else None
    if match:
        start, end = int(match[1]), int(match[2])
        if FIRST_YEAR <= start <= end <= LAST_YEAR:
            return start, end
    raise ValidationError.field(
        field, "Must be a span of years such as 2020-2025", provided=value
    )


def unknown_fields(
    given: Mapping[str, Any], section: str, known: Sequence[str]
) -> list[dict[str, Any]]:
    """A problem for each key of ``given`` not in ``known``.

    Fields are named ``section.key``, or just ``key`` when ``section`` is empty.
    """
    return [
        {
            "field": f"{section}.{key}" if section else key,
            "error": "Unknown field",
            "provided": given[key],
            "valid_options": list(known),
        }
        for key in sorted(set(given) - set(known))
    ]


def one_of(value: Any, field: str, options: Sequence[str]) -> str:
    """``value`` if it is one of ``options`` (exactly), else a ValidationError."""
    if isinstance(value, str) and value in options:
        return value
    raise ValidationError.field(
        field, "Not one of the valid options", provided=value, valid_options=options
    )


def whole_number(value: Any, field: str, low: int, high: int) -> int:
    """An integer from ``low`` to ``high`` (booleans are not numbers here)."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    raise ValidationError.field(
        field, f"Must be a whole number from {low} to {high}", provided=value
    )


def fraction(value: Any, field: str) -> float:
    """A number from 0 to 1."""
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and 0 <= value <= 1
    ):
        return float(value)
    raise ValidationError.field(field, "Must be a number from 0 to 1", provided=value)
