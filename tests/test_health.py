"""GET /health: real checks of every dependency."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

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
    assert body["services"]["external_apis"] == "not_configured"  # no model key
    assert body["load"] == "healthy"
    metrics = body["metrics"]
    assert isinstance(metrics["active_connections"], int)
    assert metrics["memory_usage"].endswith(("KB", "MB", "GB"))
    assert metrics["cpu_usage"].endswith("%")


def with_neo4j_down(settings: Settings) -> Settings:
    return dataclasses.replace(settings, neo4j_uri=f"bolt://127.0.0.1:{free_port()}")


@pytest.mark.parametrize(
    ("break_it", "service"),
    [
        (with_redis_down, "redis"),
        (with_database_down, "database"),
        (with_neo4j_down, "neo4j"),
    ],
)
async def test_health_is_503_naming_the_service_that_is_down(
    start_web: StartWeb,
    settings: Settings,
    break_it: Callable[[Settings], Settings],
    service: str,
) -> None:
    """With one dependency unreachable, health answers 503 and marks that part."""
    web = await start_web(break_it(settings))
    async with web.session.get("/health") as response:
        body = await response.json()
    await web.close()
    assert (response.status, body["status"]) == (503, "unhealthy")
    assert body["services"][service] == "unhealthy"
