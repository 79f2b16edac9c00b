"""The §4.3 access table, and properties that must hold for any data."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from onevice.services.access import ROLES, Viewer
from onevice.services.policy import (
    CATEGORIES,
    SENSITIVITY_RULES,
    SUMMARY_FIELDS,
    Budget,
    access,
    budget_tier,
    view_budget,
    view_document,
)

#: spec §4.3 ``data_sensitivity_rules``, as the spec writes it.
SPEC_TABLE = {
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
    **{
        category: dict.fromkeys(
            ("Leadership", "Director", "Salesperson", "Creative Director"),
            "full_access",
        )
        for category in ("4_call_sheets", "5_scripts", "6_sales_decks")
    },
}


def test_the_table_renders_as_spec_4_3() -> None:
    """Rendered as spec §4.3's JSON, the table in code is the spec's table."""
    rendered = orjson.loads(
        orjson.dumps({"data_sensitivity_rules": SENSITIVITY_RULES})
    )["data_sensitivity_rules"]
    assert rendered == SPEC_TABLE


def test_directors_have_full_access_on_their_own_projects() -> None:
    """project_specific is full access where the Director is assigned."""
    director = viewer("Director")
    assert access(director, "2_contracts", assigned=True) == "full_access"
    assert access(director, "2_contracts", assigned=False) == "no_access"
    assert access(director, "1_budgets", assigned=False) == "ranges_only"


def test_budget_tiers() -> None:
    """Amounts fall into the spec's tiers, bounds included in the tier above."""
    assert [budget_tier(a) for a in (49_999, 50_000, 150_000, 300_000, 2_000_000)] == [
        "Under $50k",
        "$50k-100k",
        "$100k-300k",
        "$300k-1M",
        "$1M+",
    ]


def viewer(role: str) -> Viewer:
    return Viewer(sub="user_x", role=role, org_id="org")


amounts = st.integers(min_value=10_000, max_value=50_000_000)
restricted_roles = st.sampled_from(["Salesperson", "Creative Director"])
words = st.text(alphabet=st.characters(categories=["L", "Zs"]), max_size=40)


@settings(max_examples=200)
@given(amount=amounts, role=restricted_roles, assigned=st.booleans())
def test_budgets_never_show_amounts_to_sales_or_creative(
    amount: int, role: str, assigned: bool
) -> None:
    """A Salesperson or Creative Director never sees a budget's amount."""
    shown = orjson.dumps(
        view_budget(
            viewer(role), Budget(amount, True, {"crew": amount // 2}), assigned=assigned
        )
    ).decode()
    assert str(amount) not in shown and f"{amount:,}" not in shown
    assert str(amount // 2) not in shown


@settings(max_examples=200)
@given(
    role=restricted_roles,
    assigned=st.booleans(),
    category=st.sampled_from(CATEGORIES),
    secret=st.from_regex(r"SECRET-[0-9a-f]{12}", fullmatch=True),
    summary=words,
)
def test_contract_content_never_reaches_sales_or_creative(
    role: str, assigned: bool, category: str, secret: str, summary: str
) -> None:
    """Contracts are withheld whole, other sensitive documents reduced to summaries."""
    document = {
        "id": "doc_1",
        "project_id": "proj_1",
        "category": category,
        "title": "A document",
        "summary": summary,
        "content": secret,
    }
    shown = view_document(viewer(role), document, assigned=assigned)
    if category == "2_contracts":
        assert shown is None
    elif category in ("1_budgets", "3_internal_strategy"):
        assert shown is not None and set(shown) <= set(SUMMARY_FIELDS)
    rendered = orjson.dumps(shown).decode()
    if category in ("1_budgets", "2_contracts", "3_internal_strategy"):
        assert secret not in rendered


@settings(max_examples=100)
@given(amount=amounts, category=st.sampled_from(CATEGORIES), assigned=st.booleans())
def test_leadership_sees_everything(amount: int, category: str, assigned: bool) -> None:
    """Leadership's view of any budget or document is the whole thing."""
    leader = viewer("Leadership")
    document = {"id": "d", "category": category, "content": "x"}
    assert (
        view_budget(leader, Budget(amount, False), assigned=assigned)["amount"]
        == amount
    )
    assert view_document(leader, document, assigned=assigned) == document


def test_every_role_has_a_rule_in_every_category() -> None:
    """The table is complete: six categories by four roles."""
    assert set(SENSITIVITY_RULES) == set(CATEGORIES)
    assert all(set(rules) == set(ROLES) for rules in SENSITIVITY_RULES.values())
