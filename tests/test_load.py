"""Load reported to sockets: degraded under a backlog, healthy after (spec §3.4)."""

from __future__ import annotations

import dataclasses

from redis.asyncio import Redis

from onevice.base.settings import Settings
from onevice.services import backlog, queue
from tests.fix_services import Isolate
from tests.fix_stack import MakeUser, StartWeb
from tests.test_websocket import connect, receive, receive_until
from web.load import LoadState, Reading

SETTINGS = Settings(
    degraded_wait_seconds=5.0,
    degraded_loop_lag_seconds=0.25,
    alternative_endpoints=("https://eu.api.onevice.com",),
)


def test_a_long_wait_or_a_lagging_loop_degrades_and_recovery_heals() -> None:
    """Each reading past its threshold is a reason; under both is healthy."""
    state = LoadState(SETTINGS)
    assert not state.update(Reading(loop_lag_seconds=0.01, oldest_wait_seconds=1.0))
    assert state.update(Reading(0.01, 7.2))
    assert (state.status, state.reasons) == ("degraded", ("queue_backlog",))
    assert not state.update(Reading(0.5, 8.0))
    assert state.reasons == ("web_overloaded", "queue_backlog")
    assert state.update(Reading(0.01, None))  # broker unreadable: no backlog claim
    assert state.status == "healthy"


def test_the_degraded_message_estimates_the_delay() -> None:
    """The estimate runs from the oldest wait to half as much again."""
    state = LoadState(SETTINGS)
    state.update(Reading(0.01, 7.2))
    data = state.message()["data"]
    assert data["status"] == "degraded"
    assert data["estimated_delay"] == "7-11 seconds"
    assert data["estimated_delay_seconds"] == 7.2
    assert data["alternative_endpoints"] == ["https://eu.api.onevice.com"]
    state.update(Reading(0.01, 0.0))
    assert state.message()["data"]["status"] == "healthy"


async def test_sockets_hear_of_a_backlog_and_of_its_end(
    isolate: Isolate, start_web: StartWeb, make_user: MakeUser
) -> None:
    """Queries waiting with no worker degrade the service; a drained queue heals it."""
    settings = dataclasses.replace(
        await isolate(),
        load_check_seconds=0.1,
        degraded_wait_seconds=0.3,
        degraded_loop_lag_seconds=3600.0,
    )
    web = await start_web(settings)
    user = make_user()
    celery = queue.make_celery(settings)
    client = Redis.from_url(settings.require_redis_url())
    try:
        ws = await connect(web, user)
        # No worker serves this stack's broker, so the queries stay queued.
        for number in range(3):
            await queue.enqueue(celery, f"query_load_{number}", "test_stream")
        status = (await receive_until(ws, "connection_status"))[-1]["data"]
        assert status["status"] == "degraded"
        assert status["reasons"] == ["queue_backlog"]
        assert status["estimated_delay_seconds"] >= 0.3

        await ws.send_json({"type": "ping"})
        pong = (await receive_until(ws, "pong"))[-1]
        assert pong["server_status"] == "degraded"
        late = await connect(web, user)
        told = await receive(late)
        assert (told["type"], told["data"]["status"]) == (
            "connection_status",
            "degraded",
        )

        await client.delete(*backlog.queue_keys())
        for socket in (ws, late):
            healed = (await receive_until(socket, "connection_status"))[-1]
            assert healed["data"]["status"] == "healthy"
        await ws.close()
        await late.close()
    finally:
        celery.close()
        await client.aclose()
