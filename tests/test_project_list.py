"""GET /projects (spec §2.4): paging, filters, sorting, and nothing of other orgs."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from onevice.identity.tokens import TokenIssuer
from onevice.storage.db import Pool
from onevice.storage.projects import NewProject, ProjectStore
from tests.fix_stack import User, WebServer

PROJECTS = [  # name, type, status, amount
    ("Alpha", "Commercial", "In Production", 120_000),
    ("Bravo", "Music Video", "Completed", 80_000),
    ("Charlie", "Music Video", "Pitching", 450_000),
    ("Delta", "Commercial", "Completed", 2_500_000),
    ("Echo", "Music Video", "Post-Production", 30_000),
]


@pytest.fixture
async def org(pool: Pool) -> str:
    """An organisation of its own with the five projects above, in that order."""
    org_id = f"org_{uuid.uuid4().hex[:8]}"
    store = ProjectStore(pool)
    for name, kind, status, amount in PROJECTS:
        await store.create(
            NewProject(
                id=f"proj_{uuid.uuid4().hex[:10]}",
                org_id=org_id,
                name=name,
                type=kind,
                status=status,
                budget_amount=amount,
                client="Nike",
                team=[
                    ("director", f"{name} Director", None),
                    ("creative_director", f"{name} CD", None),
                ],
            )
        )
    return org_id


def member(issuer: TokenIssuer, org_id: str, role: str = "Salesperson") -> User:
    sub = f"user_{uuid.uuid4().hex[:10]}"
    return User(sub, role, issuer.mint(role=role, sub=sub, org_id=org_id))


async def listing(web: WebServer, user: User, **params: str) -> tuple[int, Any]:
    async with web.session.get("/projects", params=params, headers=user.headers) as r:
        return r.status, await r.json()


async def names(web: WebServer, user: User, **params: str) -> list[str]:
    status, body = await listing(web, user, **params)
    assert status == 200
    return [project["name"] for project in body["projects"]]


async def test_the_default_is_active_projects_newest_first(
    web: WebServer, issuer: TokenIssuer, org: str
) -> None:
    """Without parameters: active projects, newest first, with totals."""
    status, body = await listing(web, member(issuer, org))
    assert status == 200
    assert [p["name"] for p in body["projects"]] == ["Echo", "Charlie", "Alpha"]
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 3, "pages": 1}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"filter": "completed"}, ["Delta", "Bravo"]),
        ({"filter": "all"}, ["Echo", "Delta", "Charlie", "Bravo", "Alpha"]),
        ({"filter": "type:Commercial"}, ["Delta", "Alpha"]),
        (
            {"filter": "all", "sort": "name asc"},
            ["Alpha", "Bravo", "Charlie", "Delta", "Echo"],
        ),
        (
            {"filter": "all", "sort": "name", "limit": "2", "page": "2"},
            ["Charlie", "Bravo"],
        ),
    ],
)
async def test_filters_sorting_and_pages(
    web: WebServer,
    issuer: TokenIssuer,
    org: str,
    params: dict[str, str],
    expected: list[str],
) -> None:
    """Filters, sort orders and pages select and order the projects as asked."""
    assert await names(web, member(issuer, org), **params) == expected


async def test_pages_report_totals(
    web: WebServer, issuer: TokenIssuer, org: str
) -> None:
    """Page 2 of 2 per page over five projects: total 5, 3 pages."""
    _, body = await listing(web, member(issuer, org), filter="all", limit="2", page="2")
    assert body["pagination"] == {"page": 2, "limit": 2, "total": 5, "pages": 3}


async def test_list_items_show_tiers_and_never_amounts(
    web: WebServer, issuer: TokenIssuer, org: str
) -> None:
    """Even for Leadership, a list item has the budget tier and no amount."""
    _, body = await listing(web, member(issuer, org, "Leadership"), filter="all")
    delta = next(p for p in body["projects"] if p["name"] == "Delta")
    assert delta["budget_tier"] == "$1M+"
    assert "2500000" not in str(body)
    assert (delta["director"], delta["creative_director"]) == (
        "Delta Director",
        "Delta CD",
    )


async def test_other_organisations_projects_are_not_listed(
    web: WebServer, issuer: TokenIssuer, org: str
) -> None:
    """A member of another organisation sees none of these projects."""
    assert await names(web, member(issuer, "org_empty"), filter="all") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "14642862224414437376"}, "page"),  # past any database offset
        ({"page": "9" * 5000}, "page"),  # more digits than int() converts
        ({"page": "\u00b2"}, "page"),  # a digit to str.isdigit, not to int()
        ({"limit": "\u0661\u0660"}, "limit"),  # Arabic-Indic digits
        ({"limit": "500"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"filter": "archived"}, "filter"),
        ({"sort": "budget_amount desc"}, "sort"),
        ({"sort": "name sideways"}, "sort"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_bad_parameters_are_refused(
    web: WebServer, issuer: TokenIssuer, params: dict[str, str], field: str
) -> None:
    """Each bad parameter gets 400 with invalid_fields naming it."""
    status, body = await listing(web, member(issuer, "org_any"), **params)
    fields = [entry["field"] for entry in body["error"]["details"]["invalid_fields"]]
    assert (status, fields) == (400, [field])
