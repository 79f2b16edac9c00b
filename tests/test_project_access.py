"""spec §4.3 applied where project data is read: REST, agents, WS and SSE."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from onevice.identity.tokens import TokenIssuer
from onevice.services.policy import budget_tier
from onevice.storage.db import Pool
from onevice.storage.projects import NewProject, ProjectStore
from tests.fix_stack import User, WebServer
from tests.test_sse import read_sse
from tests.test_websocket import connect, receive_until

ORG = "org_onevice_dev"


def user_of(issuer: TokenIssuer, role: str, org_id: str = ORG) -> User:
    sub = f"user_{uuid.uuid4().hex[:10]}"
    return User(sub, role, issuer.mint(role=role, sub=sub, org_id=org_id))


async def new_project(
    pool: Pool, amount: int, secret: str, director: str | None = None
) -> str:
    """Store a project whose budget is ``amount`` and whose contract says ``secret``."""
    project_id = f"proj_{uuid.uuid4().hex[:10]}"
    await ProjectStore(pool).create(
        NewProject(
            id=project_id,
            org_id=ORG,
            name="Summer Campaign",
            type="Commercial",
            status="In Production",
            budget_amount=amount,
            budget_approved=True,
            budget_lines={"crew": amount // 3},
            team=[("director", "Karena Evans", director)],
            documents=[
                {
                    "id": f"{project_id}_c",
                    "category": "2_contracts",
                    "title": "Contract",
                    "summary": "Signed",
                    "content": secret,
                },
                {
                    "id": f"{project_id}_s",
                    "category": "3_internal_strategy",
                    "title": "Strategy",
                    "summary": "Win the renewal",
                    "content": f"walk away below {amount}",
                },
                {
                    "id": f"{project_id}_d",
                    "category": "6_sales_decks",
                    "title": "Deck",
                    "summary": "The pitch",
                    "content": "Shared with the client",
                },
            ],
        )
    )
    return project_id


async def fetch(web: WebServer, user: User, project_id: str) -> tuple[int, Any]:
    async with web.session.get(f"/projects/{project_id}", headers=user.headers) as r:
        return r.status, await r.json()


def leaks(text: str, amount: int, secret: str) -> bool:
    return any(
        needle in text
        for needle in (str(amount), f"{amount:,}", str(amount // 3), secret)
    )


async def test_leadership_sees_amounts_and_contracts(
    web: WebServer, pool: Pool, issuer: TokenIssuer
) -> None:
    """Leadership gets the exact budget and the contract's content."""
    project_id = await new_project(pool, 250_000, "SECRET-terms")
    status, project = await fetch(web, user_of(issuer, "Leadership"), project_id)
    assert status == 200
    assert project["budget"]["amount"] == 250_000
    assert "SECRET-terms" in orjson.dumps(project).decode()


async def test_a_salesperson_sees_the_tier_and_no_contract(
    web: WebServer, pool: Pool, issuer: TokenIssuer
) -> None:
    """A Salesperson gets the budget tier, the deck, a strategy summary, no contract."""
    project_id = await new_project(pool, 250_000, "SECRET-terms")
    _, project = await fetch(web, user_of(issuer, "Salesperson"), project_id)
    assert project["budget"] == {"tier": "$100k-300k", "approved": True}
    documents = {document["category"]: document for document in project["documents"]}
    assert sorted(documents) == ["3_internal_strategy", "6_sales_decks"]
    assert "content" not in documents["3_internal_strategy"]


async def test_a_director_sees_everything_only_on_their_projects(
    web: WebServer, pool: Pool, issuer: TokenIssuer
) -> None:
    """project_specific: full access where assigned, only ranges elsewhere."""
    director = user_of(issuer, "Director")
    theirs = await new_project(pool, 90_000, "SECRET-a", director=director.sub)
    others = await new_project(pool, 90_000, "SECRET-b")
    _, own = await fetch(web, director, theirs)
    _, other = await fetch(web, director, others)
    assert own["budget"]["amount"] == 90_000
    assert "amount" not in other["budget"]
    assert "SECRET-b" not in orjson.dumps(other).decode()


async def test_another_organisations_project_is_not_found(
    web: WebServer, pool: Pool, issuer: TokenIssuer
) -> None:
    """A project of another organisation answers 404, even to Leadership."""
    project_id = await new_project(pool, 90_000, "SECRET-c")
    outsider = user_of(issuer, "Leadership", org_id="org_elsewhere")
    status, body = await fetch(web, outsider, project_id)
    assert (status, body["error"]["code"]) == (404, "NOT_FOUND")


@settings(max_examples=12, deadline=None)
@given(
    amount=st.integers(min_value=10_000, max_value=20_000_000),
    role=st.sampled_from(["Salesperson", "Creative Director"]),
    secret=st.from_regex(r"SECRET-[0-9a-f]{12}", fullmatch=True),
)
async def test_no_amount_or_contract_reaches_sales_or_creative_anywhere(
    web: WebServer,
    pool: Pool,
    issuer: TokenIssuer,
    amount: int,
    role: str,
    secret: str,
) -> None:
    """Over REST, the agent's WebSocket stream and SSE: no amount, no contract text."""
    project_id = await new_project(pool, amount, secret)
    user = user_of(issuer, role)
    _, project = await fetch(web, user, project_id)

    ws = await connect(web, user)
    await ws.send_json(
        {
            "type": "agent_query",
            "data": {
                "agent": "test_project_brief",
                "query": "brief me",
                "context": {"project_id": project_id},
            },
        }
    )
    streamed = await receive_until(ws, "agent_response_complete", "error")
    await ws.close()
    events = await read_sse(web, user, streamed[-1]["data"]["query_id"])

    assert streamed[-1]["type"] == "agent_response_complete"
    # The agent did read the project: its brief names the budget tier.
    assert budget_tier(amount) in orjson.dumps(streamed).decode()
    for shown in (project, streamed, events):
        assert not leaks(orjson.dumps(shown).decode(), amount, secret)


async def test_project_reads_allow_a_burst_of_twenty(
    web: WebServer, issuer: TokenIssuer
) -> None:
    """spec §4.2 /projects: 20 quick reads pass, the 21st gets 429."""
    user = user_of(issuer, "Leadership")
    statuses = [(await fetch(web, user, "proj_missing"))[0] for _ in range(21)]
    assert statuses == [404] * 20 + [429]
