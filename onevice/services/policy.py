"""What each role may see of sensitive data (spec §4.3), in one table.

Six sensitivity categories, four roles, and an access level for each pair:

- ``full_access``: everything.
- ``project_specific``: full access on projects the viewer is assigned to;
  elsewhere the category's fallback (ranges for budgets, nothing of contracts,
  the summary of strategy).
- ``ranges_only``: a budget's tier (``$100k-300k``), never an amount.
- ``limited``: the summary fields of ``SUMMARY_FIELDS`` and nothing else.
- ``no_access``: the item is left out altogether.

Storage applies these through ``view_budget`` and ``view_document`` when it
reads, so what reaches an agent, a model or a client has already been filtered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final, Literal

from onevice.services.access import ROLES, Viewer

Access = Literal[
    "full_access", "project_specific", "ranges_only", "limited", "no_access"
]

CATEGORIES: Final = (
    "1_budgets",
    "2_contracts",
    "3_internal_strategy",
    "4_call_sheets",
    "5_scripts",
    "6_sales_decks",
)

_EVERYONE_FULL: Final[Mapping[str, Access]] = dict.fromkeys(ROLES, "full_access")

#: spec §4.3 ``data_sensitivity_rules``.
SENSITIVITY_RULES: Final[Mapping[str, Mapping[str, Access]]] = {
    "1_budgets": {
        "Leadership": "full_access",
        "Director": "project_specific",
        "Salesperson": "ranges_only",
        "Creative Director": "ranges_only",
    },
    "2_contracts": {
        "Leadership": "full_access",
        "Director": "project_specific",
        "Salesperson": "no_access",
        "Creative Director": "no_access",
    },
    "3_internal_strategy": {
        "Leadership": "full_access",
        "Director": "project_specific",
        "Salesperson": "limited",
        "Creative Director": "limited",
    },
    "4_call_sheets": _EVERYONE_FULL,
    "5_scripts": _EVERYONE_FULL,
    "6_sales_decks": _EVERYONE_FULL,
}

#: What ``project_specific`` falls back to on projects the viewer is not on.
PROJECT_SPECIFIC_ELSEWHERE: Final[Mapping[str, Access]] = {
    "1_budgets": "ranges_only",
    "2_contracts": "no_access",
    "3_internal_strategy": "limited",
}

#: The fields a ``limited`` view of a document keeps.
SUMMARY_FIELDS: Final = ("id", "project_id", "category", "title", "summary")

#: Budget tiers: (upper bound in dollars, exclusive; label).
BUDGET_TIERS: Final = (
    (50_000, "Under $50k"),
    (100_000, "$50k-100k"),
    (300_000, "$100k-300k"),
    (1_000_000, "$300k-1M"),
    (float("inf"), "$1M+"),
)


def access(viewer: Viewer, category: str, *, assigned: bool) -> Access:
    """The viewer's access to ``category`` on a project they are (not) assigned to."""
    rule = SENSITIVITY_RULES[category][viewer.role]
    if rule == "project_specific":
        return "full_access" if assigned else PROJECT_SPECIFIC_ELSEWHERE[category]
    return rule


def budget_tier(amount: int) -> str:
    """The tier label of a budget amount (in whole dollars)."""
    return next(label for bound, label in BUDGET_TIERS if amount < bound)


@dataclasses.dataclass(frozen=True)
class Budget:
    """A project's budget as stored."""

    amount: int
    approved: bool
    line_items: Mapping[str, int] = dataclasses.field(default_factory=dict)


def view_budget(viewer: Viewer, budget: Budget, *, assigned: bool) -> dict[str, Any]:
    """The budget as the viewer may see it: amounts only with full access."""
    level = access(viewer, "1_budgets", assigned=assigned)
    shown: dict[str, Any] = {
        "tier": budget_tier(budget.amount),
        "approved": budget.approved,
    }
    if level == "full_access":
        shown |= {"amount": budget.amount, "line_items": dict(budget.line_items)}
    return shown


def view_document(
    viewer: Viewer, document: Mapping[str, Any], *, assigned: bool
) -> dict[str, Any] | None:
    """The document as the viewer may see it, or None if they may not see it."""
    level = access(viewer, str(document["category"]), assigned=assigned)
    if level == "full_access":
        return dict(document)
    if level == "limited" or level == "ranges_only":
        return {key: document[key] for key in SUMMARY_FIELDS if key in document}
    return None
