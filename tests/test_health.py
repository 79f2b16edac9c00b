"""GET /health: real checks of every dependency."""

from __future__ import annotations

import dataclasses

from onevice.base.settings import Settings
from onevice.services.embedded import free_port
from tests.fix_services import with_database_down, with_redis_down
from tests.fix_stack import StartWeb, WebServer


async def test_health_is_healthy_with_everything_up(web: WebServer) -> None:
    """With PostgreSQL, Redis, the graph and a worker up, health is 200 healthy."""
    async with web.session.get("/health") as response:
        body = await response.json()
    assert response.status == 200
    assert body["status"] == "healthy"
    assert body["services"]["database"] == "healthy"
    assert body["services"]["redis"] == "healthy"
    assert body["services"]["graph"] == "healthy"
    assert body["services"]["workers"] == "healthy"
    assert body["metrics"]["uptime_seconds"] >= 0


async def test_health_is_503_when_redis_is_down(
    start_web: StartWeb, settings: Settings
) -> None:
    """With Redis unreachable, health answers 503 and names the broken parts."""
    broken = with_redis_down(settings)
    web = await start_web(broken)
    async with web.session.get("/health") as response:
        body = await response.json()
    await web.close()
    assert response.status == 503
    assert body["status"] == "unhealthy"
    assert body["services"]["redis"] == "unhealthy"
    assert body["services"]["database"] == "healthy"


async def test_health_is_503_when_the_database_is_down(
    start_web: StartWeb, settings: Settings
) -> None:
    """With PostgreSQL unreachable, health answers 503 with the database unhealthy."""
    broken = with_database_down(settings)
    web = await start_web(broken)
    async with web.session.get("/health") as response:
        body = await response.json()
    await web.close()
    assert response.status == 503
    assert body["services"]["database"] == "unhealthy"


async def test_health_checks_neo4j_when_it_is_the_graph(
    start_web: StartWeb, settings: Settings
) -> None:
    """With NEO4J_URI set and Neo4j unreachable, the neo4j part is unhealthy."""
    dead = dataclasses.replace(settings, neo4j_uri=f"bolt://127.0.0.1:{free_port()}")
    web = await start_web(dead)
    async with web.session.get("/health") as response:
        body = await response.json()
    await web.close()
    assert response.status == 503
    assert body["services"]["neo4j"] == "unhealthy"
