"""A failing dependency gives 503 in the error shape and loses no accepted work."""

from __future__ import annotations

from onevice.base.settings import Settings
from onevice.storage.db import Pool
from tests.fix_services import with_database_down, with_redis_down
from tests.fix_stack import StartWeb, User
from tests.test_errors import count_queries


async def test_queue_down_gives_503_and_keeps_no_half_query(
    start_web: StartWeb, settings: Settings, user: User, pool: Pool
) -> None:
    """If the broker is unreachable the submission is refused and nothing is stored."""
    broken = with_redis_down(settings)
    web = await start_web(broken)
    async with web.session.post(
        "/agents/test-stream/query",
        json={"query": "q"},
        headers={**user.headers, "Prefer": "respond-async"},
    ) as response:
        body = await response.json()
    await web.close()
    assert response.status == 503
    assert body["error"]["code"] == "DEPENDENCY_UNAVAILABLE"
    assert await count_queries(pool, user) == 0


async def test_database_down_gives_503(
    start_web: StartWeb, settings: Settings, user: User
) -> None:
    """If PostgreSQL is unreachable, reads answer 503 instead of a stack trace."""
    broken = with_database_down(settings)
    web = await start_web(broken)
    async with web.session.get("/queries/query_x", headers=user.headers) as response:
        body = await response.json()
    await web.close()
    assert response.status == 503
    assert body["error"]["code"] == "DEPENDENCY_UNAVAILABLE"
