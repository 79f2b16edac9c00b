"""Query complexity (spec §4.2): scored before queueing, capped by role."""

from __future__ import annotations

from onevice.agents.complexity import score
from tests.fix_stack import MakeUser, WebServer

HEAVY = {
    "query": "everyone Cordae ever worked with",
    "options": {"depth": 3, "max_results": 30, "format": "detailed_brief"},
}


def test_a_plain_query_scores_one() -> None:
    """A query with nothing but its text costs the base point."""
    assert score({"query": "hello"}) == 1


def test_each_factor_adds_its_points() -> None:
    """Depth 3 (+4), 30 results (+2), a detailed brief (+1): 8 with the base."""
    assert score(HEAVY) == 8


def test_a_long_year_range_costs_points() -> None:
    """Eleven years (2015-2025) cost 2 points above the base."""
    assert score({"query": "q", "filters": {"year_range": "2015-2025"}}) == 3


async def test_a_query_too_heavy_for_the_role_is_refused(
    web: WebServer, make_user: MakeUser
) -> None:
    """A Salesperson (max 5) asking for 8 points gets 400 QUERY_TOO_COMPLEX."""
    async with web.session.post(
        "/agents/test-stream/query", json=HEAVY, headers=make_user().headers
    ) as response:
        body = await response.json()
    assert (response.status, body["error"]["code"]) == (400, "QUERY_TOO_COMPLEX")
    assert (body["error"]["details"]["score"], body["error"]["details"]["max"]) == (
        8,
        5,
    )
    assert {f["name"] for f in body["error"]["details"]["factors"]} >= {"depth"}


async def test_the_same_query_is_fine_for_a_director(
    web: WebServer, make_user: MakeUser
) -> None:
    """A Director (max 8) may ask the same 8-point query."""
    async with web.session.post(
        "/agents/test-stream/query",
        json=HEAVY,
        headers={**make_user("Director").headers, "Prefer": "respond-async"},
    ) as response:
        assert response.status == 202
