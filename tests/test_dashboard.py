"""GET /analytics/dashboard (spec §2.5): known answers from what the tests made.

The module runs a stack of its own (fresh database, its own worker), and puts
real queries through it: completed ones from ``test_stream``, failed ones from
``test_fail``, and queued product-agent queries written through the query
store. Some are moved ten days into the past, with their ratings, to tell the
7-day window from the 30-day one. The expected figures are computed here from
``SCENARIO`` and from the stored timestamps, not read from the code under test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from onevice.base.settings import Settings
from onevice.identity.tokens import TokenIssuer
from onevice.services.access import Viewer
from onevice.storage.db import Pool, open_pool
from onevice.storage.projects import NewProject, ProjectStore
from onevice.storage.queries import QueryStore
from tests.fix_services import Isolate, with_database_down
from tests.fix_stack import StartWeb, User, WebServer, WorkerProcess
from web.routes_analytics import duration_label, money_label, percent_label

PRODUCT_AGENTS = (
    "sales_intelligence",
    "case_study",
    "talent_discovery",
    "bidding_support",
)
OUTCOMES = {"test_stream": "completed", "test_fail": "failed"}


@dataclasses.dataclass(frozen=True)
class Asked:
    """One query of the scenario: who asked which agent, the rating, its age."""

    who: str
    agent: str
    rating: int | None = None
    days_ago: int = 0


#: Who asks what in the main organisation ("ours") and in another ("theirs").
#: "queued" asks product agents through the store: no worker runs those.
SCENARIO = (
    Asked("sales", "test_stream", rating=5),
    Asked("sales", "test_fail", rating=2),
    Asked("sales", "test_stream"),
    Asked("sales", "test_stream", rating=1, days_ago=10),
    Asked("lead", "test_stream", rating=4),
    Asked("queued", "case_study"),
    Asked("queued", "sales_intelligence"),
    Asked("their_lead", "test_stream", rating=3),
    Asked("their_lead", "test_fail"),
)
OUR_PEOPLE = ("sales", "lead", "queued")
#: name, status, budget, delivered this month
PROJECTS = (
    ("Alpha", "In Production", 1_200_000, False),
    ("Bravo", "Pitching", 800_000, False),
    ("Charlie", "Completed", 2_000_000, True),
    ("Delta", "Completed", 90_000, False),
    ("Echo", "Post-Production", 500_000, False),
)
ACTIVE = ("Pitching", "Pre-Production", "In Production", "Post-Production")
THEIR_PROJECTS = (("Zulu", "Pre-Production", 7_000_000, False),)


@dataclasses.dataclass
class World:
    """The stack, the people of the scenario and the queries they asked."""

    web: WebServer
    pool: Pool
    issuer: TokenIssuer
    org: str
    their_org: str
    people: dict[str, User]
    asked: list[tuple[Asked, str]]

    def member(self, role: str, org: str | None = None) -> User:
        """A new member of ``org`` (ours by default) who asked nothing."""
        sub = f"user_{uuid.uuid4().hex[:10]}"
        org_id = org or self.org
        return User(sub, role, self.issuer.mint(role=role, sub=sub, org_id=org_id))

    async def dashboard(self, user: User, **params: str) -> tuple[int, Any]:
        async with self.web.session.get(
            "/analytics/dashboard", params=params, headers=user.headers
        ) as response:
            return response.status, await response.json()

    def expected(self, who: Sequence[str], days: int) -> dict[str, Any]:
        """The usage and outcome figures of ``who``'s queries in ``days`` days."""
        window = [(a, q) for a, q in self.asked if a.who in who and a.days_ago < days]
        usage = dict.fromkeys(PRODUCT_AGENTS, 0) | Counter(a.agent for a, _ in window)
        outcomes = Counter(OUTCOMES.get(a.agent, "queued") for a, _ in window)
        ratings = [a.rating for a, _ in window if a.rating is not None]
        mean = None
        if ratings:
            exact = Decimal(sum(ratings)) / len(ratings)
            mean = float(exact.quantize(Decimal("0.1"), ROUND_HALF_UP))
        return {
            "usage": usage,
            "completed": outcomes["completed"],
            "final": outcomes["completed"] + outcomes["failed"],
            "mean_rating": mean,
            "ratings": len(ratings),
            "completed_ids": [
                q for a, q in window if OUTCOMES.get(a.agent) == "completed"
            ],
        }

    async def mean_response_ms(self, query_ids: Sequence[str]) -> float:
        """Mean submit-to-finish time of the queries, from their stored times."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT created_at, finished_at FROM queries WHERE id = ANY(%s)",
                (list(query_ids),),
            )
            rows = await cursor.fetchall()
        assert len(rows) == len(query_ids)
        micros = sum(
            (row["finished_at"] - row["created_at"]) // dt.timedelta(microseconds=1)
            for row in rows
        )
        mean = Decimal(micros) / len(rows) / 1000
        return float(mean.quantize(Decimal("0.1"), ROUND_HALF_UP))


async def create_projects(
    pool: Pool, org: str, projects: Sequence[tuple[str, str, int, bool]]
) -> None:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date AS today")
        row = await cursor.fetchone()
    assert row is not None
    today: dt.date = row["today"]
    for name, status, amount, this_month in projects:
        delivered = today if this_month else today - dt.timedelta(days=400)
        await ProjectStore(pool).create(
            NewProject(
                id=f"proj_{uuid.uuid4().hex[:10]}",
                org_id=org,
                name=name,
                type="Commercial",
                status=status,
                budget_amount=amount,
                timeline={"delivery": delivered.isoformat()},
            )
        )


async def ask(web: WebServer, user: User, agent: str) -> str:
    """Put a query through the stack and wait for its outcome; return its id."""
    async with web.session.post(
        f"/agents/{agent.replace('_', '-')}/query",
        json={"query": "dashboard", "options": {"chunks": 2}},
        headers=user.headers,
    ) as response:
        body = await response.json()
    if agent == "test_fail":
        assert response.status == 500, body
        return str(body["error"]["details"]["query_id"])
    assert response.status == 200, body
    return str(body["query_id"])


async def queue_directly(pool: Pool, user: User, org: str, agent: str) -> str:
    """A queued query written through the query store, never sent to a worker."""
    viewer = Viewer(sub=user.sub, role=user.role, org_id=org)
    record, _ = await QueryStore(pool).submit(
        viewer, agent, {"query": "dashboard"}, idempotency_key=None, max_open=100
    )
    return record.id


async def rate(web: WebServer, user: User, query_id: str, rating: int) -> None:
    async with web.session.post(
        f"/queries/{query_id}/feedback", json={"rating": rating}, headers=user.headers
    ) as response:
        assert response.status == 201, await response.text()


async def age(pool: Pool, query_id: str, days: int) -> None:
    """Move a query and its ratings ``days`` days into the past."""
    shift = dt.timedelta(days=days)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "UPDATE queries SET created_at = created_at - %(shift)s,"
            " started_at = started_at - %(shift)s,"
            " finished_at = finished_at - %(shift)s WHERE id = %(id)s",
            {"shift": shift, "id": query_id},
        )
        await conn.execute(
            "UPDATE query_feedback SET created_at = created_at - %(shift)s"
            " WHERE query_id = %(id)s",
            {"shift": shift, "id": query_id},
        )


@pytest.fixture(scope="module")
async def world(
    isolate: Isolate, start_web: StartWeb, session_dir: Path, issuer: TokenIssuer
) -> AsyncIterator[World]:
    """A fresh database with its own worker and web server, and SCENARIO run."""
    settings = await isolate()
    worker = WorkerProcess(settings, session_dir / "worker-dashboard.log")
    pool = open_pool(settings.require_database_url())
    await pool.open()
    await worker.start(pool)
    try:
        web = await start_web(settings)
        org, their_org = (f"org_{uuid.uuid4().hex[:8]}" for _ in range(2))
        roles = {"sales": "Salesperson", "lead": "Leadership", "queued": "Director"}
        world = World(web, pool, issuer, org, their_org, {}, [])
        for who, role in roles.items():
            world.people[who] = world.member(role)
        world.people["their_lead"] = world.member("Leadership", their_org)
        await create_projects(pool, org, PROJECTS)
        await create_projects(pool, their_org, THEIR_PROJECTS)
        for asked in SCENARIO:
            user = world.people[asked.who]
            user_org = their_org if asked.who.startswith("their") else org
            if asked.who == "queued":
                query_id = await queue_directly(pool, user, user_org, asked.agent)
            else:
                query_id = await ask(web, user, asked.agent)
            if asked.rating is not None:
                await rate(web, user, query_id, asked.rating)
            if asked.days_ago:
                await age(pool, query_id, asked.days_ago)
            world.asked.append((asked, query_id))
        yield world
    finally:
        await asyncio.to_thread(worker.stop)
        await pool.close()


async def test_leadership_sees_the_project_overview_with_pipeline_value(
    world: World,
) -> None:
    """Totals, active, completed this month, and the active budgets as "$2.5M"."""
    _, body = await world.dashboard(world.people["lead"])
    pipeline = sum(amount for _, status, amount, _ in PROJECTS if status in ACTIVE)
    assert body["overview"] == {
        "total_projects": len(PROJECTS),
        "active_projects": sum(status in ACTIVE for _, status, _, _ in PROJECTS),
        "completed_this_month": sum(
            status == "Completed" and now for _, status, _, now in PROJECTS
        ),
        "pipeline_value": "$2.5M",
        "pipeline_value_usd": pipeline,
    }


@pytest.mark.parametrize("role", ["Salesperson", "Director", "Creative Director"])
async def test_other_roles_see_the_overview_without_pipeline_value(
    world: World, role: str
) -> None:
    """Without Leadership, the overview has its counts and no pipeline keys."""
    _, lead = await world.dashboard(world.people["lead"])
    _, body = await world.dashboard(world.member(role))
    counts = {k: v for k, v in lead["overview"].items() if "pipeline" not in k}
    assert body["overview"] == counts


async def test_leadership_sees_the_organisations_usage(world: World) -> None:
    """Leadership counts every query of the organisation, per agent, in 30 days."""
    _, body = await world.dashboard(world.people["lead"])
    assert (body["scope"], body["agent_usage"]) == (
        "organization",
        world.expected(OUR_PEOPLE, 30)["usage"],
    )


async def test_a_salesperson_sees_their_own_usage(world: World) -> None:
    """A Salesperson's usage counts only the queries they asked."""
    _, body = await world.dashboard(world.people["sales"])
    assert (body["scope"], body["agent_usage"]) == (
        "own",
        world.expected(["sales"], 30)["usage"],
    )


async def test_the_four_product_agents_are_always_listed(world: World) -> None:
    """Someone who asked nothing gets every product agent at zero."""
    _, body = await world.dashboard(world.member("Creative Director"))
    assert body["agent_usage"] == dict.fromkeys(PRODUCT_AGENTS, 0)


@pytest.mark.parametrize(("who", "days"), [("lead", 30), ("lead", 7), ("sales", 30)])
async def test_performance_metrics_match_the_stored_queries(
    world: World, who: str, days: int
) -> None:
    """Success counts, mean response time and satisfaction match the scenario."""
    timeframe = f"{days}d"
    scope = OUR_PEOPLE if who == "lead" else [who]
    expected = world.expected(scope, days)
    _, body = await world.dashboard(world.people[who], timeframe=timeframe)
    metrics = body["performance_metrics"]
    mean_ms = await world.mean_response_ms(expected["completed_ids"])
    assert metrics == {
        "avg_response_time": duration_label(mean_ms),
        "avg_response_time_ms": mean_ms,
        "query_success_rate": percent_label(expected["completed"], expected["final"]),
        "completed_queries": expected["completed"],
        "final_queries": expected["final"],
        "user_satisfaction": expected["mean_rating"],
        "ratings": expected["ratings"],
    }


async def test_seven_days_leave_out_what_is_older(world: World) -> None:
    """The 7-day window counts fewer queries and ratings than the 30-day one."""
    _, week = await world.dashboard(world.people["sales"], timeframe="7d")
    _, month = await world.dashboard(world.people["sales"], timeframe="30d")
    assert (
        month["agent_usage"]["test_stream"] - week["agent_usage"]["test_stream"],
        month["performance_metrics"]["ratings"]
        - week["performance_metrics"]["ratings"],
    ) == (1, 1)


async def test_another_organisation_counts_only_its_own(world: World) -> None:
    """The other org's Leadership sees its one project and its own queries only."""
    _, body = await world.dashboard(world.people["their_lead"])
    expected = world.expected(["their_lead"], 30)
    assert (
        body["overview"]["total_projects"],
        body["overview"]["pipeline_value"],
        body["agent_usage"],
        body["performance_metrics"]["ratings"],
        body["performance_metrics"]["user_satisfaction"],
    ) == (1, "$7M", expected["usage"], expected["ratings"], expected["mean_rating"])


async def test_an_empty_organisation_has_zeros_and_nulls(world: World) -> None:
    """No projects, queries or ratings: counts are zero, means are null."""
    _, body = await world.dashboard(world.member("Leadership", "org_nobody"))
    assert body["overview"]["pipeline_value"] == "$0"
    assert body["performance_metrics"] == {
        "avg_response_time": None,
        "avg_response_time_ms": None,
        "query_success_rate": None,
        "completed_queries": 0,
        "final_queries": 0,
        "user_satisfaction": None,
        "ratings": 0,
    }


async def test_the_default_timeframe_is_30_days(world: World) -> None:
    """Without a timeframe the answer is the 30-day one, and says so."""
    _, default = await world.dashboard(world.people["lead"])
    _, month = await world.dashboard(world.people["lead"], timeframe="30d")
    assert (default["timeframe"], default) == ("30d", month)


@pytest.mark.parametrize(
    ("params", "field", "options"),
    [
        ({"timeframe": "1y"}, "timeframe", ["7d", "30d", "90d"]),
        ({"timeframe": ""}, "timeframe", ["7d", "30d", "90d"]),
        ({"role_filter": "false"}, "role_filter", ["true"]),
        ({"colour": "blue"}, "colour", ["timeframe", "role_filter"]),
    ],
)
async def test_bad_parameters_are_400_with_valid_options(
    world: World, params: dict[str, str], field: str, options: list[str]
) -> None:
    """Each bad parameter is VALIDATION_ERROR naming it, with its valid options."""
    status, body = await world.dashboard(world.people["sales"], **params)
    [entry] = body["error"]["details"]["invalid_fields"]
    assert (status, entry["field"], entry["valid_options"]) == (400, field, options)


async def test_the_dashboard_is_rate_limited_like_every_request(
    world: World,
) -> None:
    """The answer carries the Leadership rate in its RateLimit headers."""
    async with world.web.session.get(
        "/analytics/dashboard", headers=world.people["lead"].headers
    ) as response:
        assert int(response.headers["RateLimit-Limit"]) == 500


@pytest.mark.parametrize(
    ("amount", "label"),
    [
        (0, "$0"),
        (950, "$950"),
        (450_000, "$450k"),
        (999_990, "$1M"),
        (2_500_000, "$2.5M"),
        (3_000_000, "$3M"),
        (1_260_000_000, "$1.3B"),
    ],
)
def test_money_labels(amount: int, label: str) -> None:
    """Budgets read in the spec's short form."""
    assert money_label(amount) == label


@pytest.mark.parametrize(
    ("milliseconds", "label"),
    [(None, None), (12.4, "12ms"), (999.7, "1.0s"), (1234.5, "1.2s")],
)
def test_duration_labels(milliseconds: float | None, label: str | None) -> None:
    """Mean response times read in seconds from one second, milliseconds below."""
    assert duration_label(milliseconds) == label


@pytest.mark.parametrize(
    ("part", "whole", "label"), [(0, 0, None), (197, 200, "98.5%"), (2, 3, "66.7%")]
)
def test_percent_labels(part: int, whole: int, label: str | None) -> None:
    """Success rates read as one-decimal percentages."""
    assert percent_label(part, whole) == label


async def test_database_down_gives_503(
    start_web: StartWeb, settings: Settings, issuer: TokenIssuer
) -> None:
    """If PostgreSQL is unreachable the dashboard answers 503, not a stack trace."""
    web = await start_web(with_database_down(settings))
    token = issuer.mint(role="Leadership")
    async with web.session.get(
        "/analytics/dashboard", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        body = await response.json()
    await web.close()
    assert (response.status, body["error"]["code"]) == (503, "DEPENDENCY_UNAVAILABLE")
