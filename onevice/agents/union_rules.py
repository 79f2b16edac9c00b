"""The figures a bid rests on, each with where it comes from and how sure it is.

Two data files under ``onevice/agents/rules/`` hold them, one figure a row:

- ``union_rules.csv``: what is publicly known of the DGA, IATSE and SAG-AFTRA
  commercial agreements. A row's ``status`` says how far to trust it:
  ``confirmed`` (the union's own page), ``secondary source`` (a payroll or
  production site), ``unconfirmed`` (needs checking against the rate sheet, or
  no public figure was found: then ``value`` is empty) or ``typical`` (common
  practice, not a rule).
- ``rate_card.csv``: the company's own planning figures, every row
  ``assumption``. They price what the union rows leave empty (crew day rates,
  DGA minimums, fringes) and everything that is not a union matter
  (equipment, locations, markup). ``union`` says which shoots a row prices:
  ``Union``, ``Non-union`` or ``Any``.

Both files share the columns of ``COLUMNS``. A row without a source or an
effective date is refused when the file is loaded, as is any other malformed
row, so a figure without provenance never reaches an estimate.

``effective_from`` is a day (``2023-12-01``) or, where the source gives only
the year a contract took effect, a year (``2025``, read as 1 January). Rules
the sources describe as "current" carry the year of the contract in force.
The same rule may have several rows; :meth:`RuleBook.current` picks the one
that took effect last on the day asked about.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import io
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any, Final

COLUMNS: Final = (
    "id",
    "union",
    "rule",
    "description",
    "value",
    "unit",
    "effective_from",
    "source",
    "status",
)
UNION_STATUSES: Final = ("confirmed", "secondary source", "unconfirmed", "typical")
ASSUMPTION: Final = "assumption"
UNCONFIRMED: Final = "unconfirmed"
CONFIRMED: Final = "confirmed"
UNION_RULES_FILE: Final = "union_rules.csv"
RATE_CARD_FILE: Final = "rate_card.csv"

_EFFECTIVE: Final = re.compile(r"^\d{4}(-\d{2}-\d{2})?$")


class RulesFileError(ValueError):
    """A rules file is malformed: the message names the file, line and problem."""


@dataclasses.dataclass(frozen=True)
class Figure:
    """One row of a rules file: a figure and its provenance."""

    id: str
    union: str
    rule: str
    description: str
    #: None where no figure is known (the row is then ``unconfirmed``)
    value: Decimal | None
    unit: str
    effective_from: str
    source: str
    status: str

    @property
    def confirmed(self) -> bool:
        return self.status == CONFIRMED

    @property
    def starts(self) -> dt.date:
        """The day the figure took effect (1 January for a bare year)."""
        if len(self.effective_from) == 4:
            return dt.date(int(self.effective_from), 1, 1)
        return dt.date.fromisoformat(self.effective_from)

    def shown(self) -> dict[str, Any]:
        """The row as an answer cites it."""
        return {
            "id": self.id,
            "union": self.union,
            "rule": self.rule,
            "description": self.description,
            "value": None if self.value is None else number(self.value),
            "unit": self.unit,
            "effective_from": self.effective_from,
            "source": self.source,
            "status": self.status,
        }


@dataclasses.dataclass(frozen=True)
class RuleBook:
    """The rows of one rules file."""

    figures: tuple[Figure, ...]

    def current(self, union: str, rule: str, on: dt.date) -> Figure | None:
        """The row of ``union``'s ``rule`` in force on ``on``, if any."""
        rows = [
            f
            for f in self.figures
            if f.union == union and f.rule == rule and f.starts <= on
        ]
        return max(rows, key=lambda f: f.starts, default=None)

    def of_union(self, union: str, on: dt.date) -> list[Figure]:
        """The rows of ``union`` in force on ``on``, one per rule, in file order."""
        rules = dict.fromkeys(f.rule for f in self.figures if f.union == union)
        found = (self.current(union, rule, on) for rule in rules)
        return [figure for figure in found if figure is not None]


def number(value: Decimal) -> int | float:
    """A decimal as a JSON number: whole numbers stay integers."""
    return int(value) if value == value.to_integral_value() else float(value)


@functools.cache
def union_rules() -> RuleBook:
    """The union rules file shipped with the package, validated."""
    return parse(_read(UNION_RULES_FILE), UNION_RULES_FILE, statuses=UNION_STATUSES)


@functools.cache
def rate_card() -> RuleBook:
    """The company rate card shipped with the package, validated."""
    return parse(_read(RATE_CARD_FILE), RATE_CARD_FILE, statuses=(ASSUMPTION,))


def parse(text: str, file: str, *, statuses: Iterable[str]) -> RuleBook:
    """The rows of a rules file; RulesFileError for the first malformed one."""
    allowed = tuple(statuses)
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise RulesFileError(f"{file}: the columns must be {', '.join(COLUMNS)}")
    figures: list[Figure] = []
    seen: set[str] = set()
    for row in reader:
        where = f"{file} line {reader.line_num}"
        figure = _figure(row, where, allowed)
        if figure.id in seen:
            raise RulesFileError(f"{where}: the id {figure.id!r} is used twice")
        seen.add(figure.id)
        figures.append(figure)
    return RuleBook(tuple(figures))


def _figure(row: dict[str, str | Any], where: str, allowed: tuple[str, ...]) -> Figure:
    cells = {column: _cell(row, column) for column in COLUMNS}
    for column in ("id", "union", "rule", "description", "unit", "source"):
        if not cells[column]:
            raise RulesFileError(f"{where}: {column} is missing")
    _check_effective(cells["effective_from"], where)
    if cells["status"] not in allowed:
        raise RulesFileError(
            f"{where}: status {cells['status']!r} is not one of {', '.join(allowed)}"
        )
    value = _value(cells["value"], where)
    if value is None and cells["status"] != UNCONFIRMED:
        raise RulesFileError(f"{where}: a row without a value must be unconfirmed")
    return Figure(
        id=cells["id"],
        union=cells["union"],
        rule=cells["rule"],
        description=cells["description"],
        value=value,
        unit=cells["unit"],
        effective_from=cells["effective_from"],
        source=cells["source"],
        status=cells["status"],
    )


def _cell(row: dict[str, str | Any], column: str) -> str:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""


def _check_effective(text: str, where: str) -> None:
    if not text:
        raise RulesFileError(f"{where}: effective_from is missing")
    try:
        if not _EFFECTIVE.match(text):
            raise ValueError(text)
        if len(text) > 4:
            dt.date.fromisoformat(text)
    except ValueError:
        raise RulesFileError(
            f"{where}: effective_from {text!r} is not a year or a YYYY-MM-DD day"
        ) from None


def _value(text: str, where: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RulesFileError(f"{where}: value {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise RulesFileError(f"{where}: value {text!r} is not a figure")
    return value


def _read(name: str) -> str:
    return resources.files("onevice.agents").joinpath("rules", name).read_text("utf-8")
