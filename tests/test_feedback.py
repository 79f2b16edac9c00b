"""POST /queries/{id}/feedback: a user rates their own final query, once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from onevice.base.settings import Settings
from onevice.identity.tokens import TokenIssuer
from onevice.storage.db import Pool
from tests.fix_services import with_database_down
from tests.fix_stack import MakeUser, StartWeb, User, WebServer
from tests.test_errors import assert_error_shape
from tests.test_sse import submit


async def ask(web: WebServer, user: User, agent: str = "test-stream") -> str:
    """Submit a query and wait for its outcome; return its id."""
    async with web.session.post(
        f"/agents/{agent}/query",
        json={"query": "rate me", "options": {"chunks": 2}},
        headers=user.headers,
    ) as response:
        body: dict[str, Any] = await response.json()
    if response.status == 200:
        return str(body["query_id"])
    assert response.status == 500, body
    return str(body["error"]["details"]["query_id"])


async def rate(
    web: WebServer, user: User, query_id: str, body: Any
) -> tuple[int, dict[str, Any]]:
    async with web.session.post(
        f"/queries/{query_id}/feedback", json=body, headers=user.headers
    ) as response:
        return response.status, await response.json()


async def stored(pool: Pool, query_id: str) -> list[dict[str, Any]]:
    """Every feedback row of ``query_id``, as stored."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT user_sub, org_id, rating, comment FROM query_feedback"
            " WHERE query_id = %s",
            (query_id,),
        )
        return list(await cursor.fetchall())


@pytest.fixture(scope="module")
async def answered(issuer: TokenIssuer, web: WebServer) -> tuple[User, str]:
    """A user of this module and a completed query of theirs, never rated."""
    sub = f"user_{uuid.uuid4().hex[:10]}"
    owner = User(sub, "Salesperson", issuer.mint(role="Salesperson", sub=sub))
    return owner, await ask(web, owner)


async def test_rating_a_completed_query_answers_201_with_the_feedback(
    web: WebServer, user: User
) -> None:
    """A rating with a comment is answered 201 with what was stored."""
    query_id = await ask(web, user)
    status, body = await rate(web, user, query_id, {"rating": 4, "comment": "Useful"})
    assert (status, body["query_id"], body["rating"], body["comment"]) == (
        201,
        query_id,
        4,
        "Useful",
    )


async def test_the_rating_is_stored_as_the_token_subject_and_org(
    web: WebServer, user: User, pool: Pool
) -> None:
    """The stored row names the token's subject and organisation."""
    query_id = await ask(web, user)
    await rate(web, user, query_id, {"rating": 5})
    row = {"user_sub": user.sub, "org_id": "org_onevice_dev", "rating": 5}
    assert await stored(pool, query_id) == [row | {"comment": None}]


async def test_a_failed_query_can_be_rated(web: WebServer, user: User) -> None:
    """Failed is a final outcome too, and can be rated."""
    query_id = await ask(web, user, "test-fail")
    status, body = await rate(web, user, query_id, {"rating": 1})
    assert (status, body["rating"]) == (201, 1)


async def test_a_blank_comment_is_stored_as_none(
    web: WebServer, user: User, pool: Pool
) -> None:
    """A comment of only whitespace is no comment."""
    query_id = await ask(web, user)
    await rate(web, user, query_id, {"rating": 3, "comment": "   "})
    assert [row["comment"] for row in await stored(pool, query_id)] == [None]


async def test_a_second_rating_is_409_and_keeps_the_first(
    web: WebServer, user: User, pool: Pool
) -> None:
    """Rating the same query again is FEEDBACK_EXISTS and changes nothing."""
    query_id = await ask(web, user)
    await rate(web, user, query_id, {"rating": 2})
    status, body = await rate(web, user, query_id, {"rating": 5})
    assert status == 409
    assert_error_shape(body, "FEEDBACK_EXISTS")
    assert [row["rating"] for row in await stored(pool, query_id)] == [2]


async def test_someone_elses_query_is_404_like_a_missing_one(
    web: WebServer, make_user: MakeUser, pool: Pool
) -> None:
    """A colleague's query cannot be rated, and looks like no query at all."""
    owner, colleague = make_user(), make_user()
    query_id = await ask(web, owner)
    status, body = await rate(web, colleague, query_id, {"rating": 1})
    missing_status, missing = await rate(web, colleague, "query_nope", {"rating": 1})
    assert (status, body["error"]["code"]) == (missing_status, "NOT_FOUND")
    assert body["error"]["message"] == missing["error"]["message"]
    assert await stored(pool, query_id) == []


async def test_the_same_subject_in_another_organisation_is_404(
    web: WebServer, issuer: TokenIssuer, user: User, pool: Pool
) -> None:
    """A token with the owner's subject but another org_id cannot rate the query."""
    query_id = await ask(web, user)
    elsewhere = User(
        user.sub, user.role, issuer.mint(role=user.role, sub=user.sub, org_id="org_x")
    )
    status, _ = await rate(web, elsewhere, query_id, {"rating": 5})
    assert (status, await stored(pool, query_id)) == (404, [])


async def test_a_query_still_running_is_409(web: WebServer, user: User) -> None:
    """Until the query is final it cannot be rated: QUERY_NOT_FINISHED."""
    query_id = await submit(
        web, user, "test-silent", {"query": "q", "options": {"steps": 400}}
    )
    status, body = await rate(web, user, query_id, {"rating": 5})
    async with web.session.post(f"/queries/{query_id}/cancel", headers=user.headers):
        pass
    assert status == 409
    assert_error_shape(body, "QUERY_NOT_FINISHED")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "rating"),
        ({"rating": None}, "rating"),
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": 4.5}, "rating"),
        ({"rating": "5"}, "rating"),
        ({"rating": True}, "rating"),
        ({"rating": 5, "comment": 42}, "comment"),
        ({"rating": 5, "comment": "x" * 2001}, "comment"),
        ({"rating": 5, "comment": "a\x00b"}, "comment"),
        ({"rating": 5, "user_id": "someone_else"}, "user_id"),
        ([5], "body"),
    ],
)
async def test_bad_bodies_are_400_and_store_nothing(
    web: WebServer, pool: Pool, answered: tuple[User, str], body: Any, field: str
) -> None:
    """Each bad body is VALIDATION_ERROR naming the field, and nothing is stored."""
    owner, query_id = answered
    status, answer = await rate(web, owner, query_id, body)
    fields = [entry["field"] for entry in answer["error"]["details"]["invalid_fields"]]
    assert (status, answer["error"]["code"], fields) == (
        400,
        "VALIDATION_ERROR",
        [field],
    )
    assert await stored(pool, query_id) == []


async def test_a_comment_at_the_bound_is_accepted(web: WebServer, user: User) -> None:
    """A comment of exactly 2000 characters is stored whole."""
    query_id = await ask(web, user)
    longest = {"rating": 5, "comment": "é" * 2000}
    status, body = await rate(web, user, query_id, longest)
    assert (status, body["comment"]) == (201, "é" * 2000)


async def test_feedback_is_rate_limited_like_every_request(
    web: WebServer, user: User
) -> None:
    """The answer carries the caller's RateLimit headers."""
    query_id = await ask(web, user)
    async with web.session.post(
        f"/queries/{query_id}/feedback", json={"rating": 4}, headers=user.headers
    ) as response:
        assert int(response.headers["RateLimit-Limit"]) == 100


async def test_database_down_gives_503(
    start_web: StartWeb, settings: Settings, user: User
) -> None:
    """If PostgreSQL is unreachable a rating is answered 503, not a stack trace."""
    web = await start_web(with_database_down(settings))
    status, body = await rate(web, user, "query_x", {"rating": 5})
    await web.close()
    assert (status, body["error"]["code"]) == (503, "DEPENDENCY_UNAVAILABLE")
