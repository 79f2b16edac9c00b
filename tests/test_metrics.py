"""``GET /metrics``: Prometheus figures of the web process and of the stores."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from onevice.base.settings import Settings
from onevice.services import queue
from onevice.services.access import DEFAULT_ORG, Viewer
from onevice.storage.db import open_pool
from onevice.storage.queries import QueryStore
from tests.fix_services import Isolate, with_database_down, with_redis_down
from tests.fix_stack import MakeUser, StartWeb, User, WebServer, WorkerProcess
from tests.test_sse import read_sse, submit
from tests.test_websocket import ask, connect, receive_until


@dataclasses.dataclass(frozen=True)
class Scrape:
    """One parsed scrape: every sample by name, with its labels and value."""

    text: str
    samples: dict[str, list[tuple[dict[str, str], float]]]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` whose labels include ``labels``."""
        return sum(
            value
            for sample_labels, value in self.samples.get(name, [])
            if labels.items() <= sample_labels.items()
        )

    def has(self, name: str) -> bool:
        return name in self.samples


async def scrape(web: WebServer) -> Scrape:
    """GET /metrics without a token and parse it as Prometheus does."""
    async with web.session.get("/metrics") as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "text/plain"
        text = await response.text()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return Scrape(text, samples)


async def test_metrics_need_no_token(start_web: StartWeb) -> None:
    """A scrape without credentials answers 200 in the Prometheus text format."""
    web = await start_web()
    scraped = await scrape(web)
    assert scraped.value("onevice_dependency_up", dependency="redis") == 1
    assert scraped.value("onevice_dependency_up", dependency="postgres") == 1
    assert scraped.value("process_resident_memory_bytes") > 0


async def test_each_app_counts_on_its_own_registry(start_web: StartWeb) -> None:
    """Two apps in one process keep separate counts of their requests."""
    first, second = await start_web(), await start_web()
    for _ in range(2):
        async with first.session.get("/health") as response:
            await response.read()
    counted = [
        (await scrape(web)).value("onevice_http_requests_total", route="/health")
        for web in (first, second)
    ]
    assert counted == [2, 0]


async def test_a_query_over_a_socket_moves_the_counters(
    start_web: StartWeb, worker: WorkerProcess, user: User
) -> None:
    """Submitted, first-chunk and relay figures grow; the query is counted done."""
    web = await start_web()
    before = await scrape(web)
    ws = await connect(web, user)
    await ask(ws, chunks=3, delay_ms=100)
    await receive_until(ws, "agent_response_complete")
    await ws.close()
    after = await scrape(web)
    grown = {
        name: after.value(name, **labels) - before.value(name, **labels)
        for name, labels in [
            ("onevice_queries_submitted_total", {"agent": "test_stream"}),
            ("onevice_first_chunk_seconds_count", {"agent": "test_stream"}),
            ("onevice_queries", {"agent": "test_stream", "status": "completed"}),
        ]
    }
    assert grown == {
        "onevice_queries_submitted_total": 1,
        "onevice_first_chunk_seconds_count": 1,
        "onevice_queries": 1,
    }
    assert after.value("onevice_chunk_relay_seconds_count", transport="ws") >= 1


async def test_an_event_stream_is_timed_and_counted_while_open(
    start_web: StartWeb, worker: WorkerProcess, user: User
) -> None:
    """Chunks read over SSE are timed; an open stream shows in the gauge."""
    web = await start_web()
    query_id = await submit(
        web, user, "test-stream", {"query": "q", "options": {"chunks": 3}}
    )
    await read_sse(web, user, query_id)
    assert (await scrape(web)).value("onevice_first_chunk_seconds_count") == 1

    silent = await submit(web, user, "test-silent", {"query": "q"})
    async with web.session.get(
        f"/queries/{silent}/events", headers=user.headers
    ) as stream:
        await stream.content.readline()  # the stream is open
        while_open = await scrape(web)
    async with web.session.post(f"/queries/{silent}/cancel", headers=user.headers):
        pass
    assert while_open.value("onevice_open_event_streams") == 1


async def test_relayed_chunks_are_timed_per_transport(
    start_web: StartWeb, worker: WorkerProcess, user: User
) -> None:
    """Chunks that reach an event stream live count under transport="sse"."""
    web = await start_web()
    query_id = await submit(
        web,
        user,
        "test-stream",
        {"query": "q", "options": {"chunks": 4, "delay_ms": 100}},
    )
    await read_sse(web, user, query_id)
    scraped = await scrape(web)
    assert scraped.value("onevice_chunk_relay_seconds_count", transport="sse") >= 1
    assert scraped.value("onevice_chunk_relay_seconds_count", transport="ws") == 0


async def test_open_sockets_are_counted(start_web: StartWeb, user: User) -> None:
    """The gauge shows a connected socket, and no longer once it closes."""
    web = await start_web()
    ws = await connect(web, user)
    while_open = (await scrape(web)).value("onevice_open_sockets")
    await ws.close()
    async with asyncio.timeout(5):  # the server lets go of the socket soon after
        while (await scrape(web)).value("onevice_open_sockets") != 0:
            await asyncio.sleep(0.05)
    assert while_open == 1


async def test_queue_depth_rises_without_a_consumer(
    isolate: Isolate, start_web: StartWeb, user: User
) -> None:
    """Queries sent to a queue nobody reads wait there, and the scrape shows it."""
    settings = await isolate()
    web = await start_web(settings)
    empty = await scrape(web)
    for _ in range(2):
        await submit(web, user, "test-stream", {"query": "q"})
    full = await scrape(web)
    assert empty.value("onevice_queue_messages", state="waiting") == 0
    assert full.value("onevice_queue_messages", state="waiting") == 2
    assert full.value("onevice_queue_oldest_wait_seconds") > 0
    assert full.value("onevice_queries", status="queued") == 2
    assert full.value("onevice_workers_alive") == 0


async def test_tasks_enqueued_directly_count_as_waiting(
    isolate: Isolate, start_web: StartWeb
) -> None:
    """The backlog comes from the broker, whoever sent the task."""
    settings = await isolate()
    web = await start_web(settings)
    celery = queue.make_celery(settings)
    try:
        for number in range(3):
            await queue.enqueue(celery, f"query_direct_{number}", "test_stream")
    finally:
        celery.close()
    scraped = await scrape(web)
    assert scraped.value("onevice_queue_messages", state="waiting") == 3
    assert scraped.value("onevice_queue_messages", state="held") == 0


async def test_a_refused_request_is_counted_by_kind_and_role(
    start_web: StartWeb, user: User
) -> None:
    """The sixth quick submission is a 429, counted as a refused request."""
    web = await start_web()
    statuses = []
    for _ in range(6):
        async with web.session.post(
            "/agents/test-stream/query", json={"query": ""}, headers=user.headers
        ) as response:
            statuses.append(response.status)
    scraped = await scrape(web)
    assert statuses[-1] == 429
    assert (
        scraped.value(
            "onevice_rate_limit_rejections_total", kind="requests", role="Salesperson"
        )
        == 1
    )


async def test_a_query_over_the_open_limit_is_counted(
    start_web: StartWeb, worker: WorkerProcess, user: User
) -> None:
    """A fourth open query of one user is refused and counted by its kind."""
    web = await start_web()
    open_queries = [
        await submit(web, user, "test-silent", {"query": "q"}) for _ in range(3)
    ]
    async with web.session.post(
        "/agents/test-silent/query",
        json={"query": "q"},
        headers={**user.headers, "Prefer": "respond-async"},
    ) as refused:
        await refused.read()
    for query_id in open_queries:
        async with web.session.post(
            f"/queries/{query_id}/cancel", headers=user.headers
        ) as response:
            await response.read()
    scraped = await scrape(web)
    assert refused.status == 429
    counted = scraped.value(
        "onevice_rate_limit_rejections_total", kind="concurrent_queries"
    )
    assert counted == 1


async def test_a_refused_socket_is_counted(start_web: StartWeb, user: User) -> None:
    """A third socket of a Salesperson is refused and counted so."""
    web = await start_web()
    sockets = [await web.session.ws_connect(web.ws_url(user.token)) for _ in range(2)]
    async with web.session.get("/ws", params={"token": user.token}) as refused:
        await refused.read()
    for ws in sockets:
        await ws.close()
    scraped = await scrape(web)
    assert refused.status == 429
    assert (
        scraped.value(
            "onevice_rate_limit_rejections_total",
            kind="concurrent_websocket",
            role="Salesperson",
        )
        == 1
    )


async def test_requests_are_counted_by_route_template(
    start_web: StartWeb, user: User
) -> None:
    """Requests count under their route's template, never under their path."""
    web = await start_web()
    async with web.session.get("/queries/query_missing", headers=user.headers) as r:
        assert r.status == 404
    async with web.session.get("/no/such/path_12345") as r:
        assert r.status == 404
    scraped = await scrape(web)
    assert (
        scraped.value(
            "onevice_http_requests_total",
            method="GET",
            route="/queries/{query_id}",
            status_class="4xx",
        )
        == 1
    )
    assert (
        scraped.value(
            "onevice_http_requests_total", route="unmatched", status_class="4xx"
        )
        == 1
    )
    assert (
        scraped.value(
            "onevice_http_request_duration_seconds_count", route="/queries/{query_id}"
        )
        == 1
    )
    assert "query_missing" not in scraped.text
    assert "path_12345" not in scraped.text


async def test_model_usage_is_summed_by_agent_and_kind(
    isolate: Isolate, start_web: StartWeb
) -> None:
    """Tokens and cost stored with finished queries are summed at scrape time."""
    settings = await isolate()
    web = await start_web(settings)
    pool = open_pool(settings.require_database_url())
    await pool.open()
    store = QueryStore(pool)
    viewer = Viewer(sub="user_usage", role="Salesperson", org_id=DEFAULT_ORG)
    try:
        for tokens in (100, 250):
            record, _ = await store.submit(
                viewer,
                "test_stream",
                {"query": "q"},
                idempotency_key=None,
                max_open=3,
            )
            started = await store.start(record.id, "worker-a")
            assert started is not None
            await store.finish(
                record.id,
                started.attempts,
                "completed",
                usage={
                    "name": "claude",
                    "input_tokens": tokens,
                    "output_tokens": tokens // 10,
                    "cost_usd": 0.5,
                },
            )
    finally:
        await pool.close()
    scraped = await scrape(web)
    used = "onevice_llm_tokens_total"
    assert scraped.value(used, agent="test_stream", kind="input") == 350
    assert scraped.value(used, agent="test_stream", kind="output") == 35
    assert scraped.value("onevice_llm_cost_usd_total", agent="test_stream") == 1.0


async def test_a_blocked_loop_shows_as_lag(start_web: StartWeb) -> None:
    """Holding the event loop for 0.8 s makes the lag gauge report a wake-up late."""
    web = await start_web()
    time.sleep(0.8)  # the server runs on this loop: block it on purpose
    await asyncio.sleep(0.6)  # let the sampler record the late wake-up
    scraped = await scrape(web)
    assert scraped.value("onevice_event_loop_lag_seconds") >= 0.25


async def test_redis_down_still_answers(
    start_web: StartWeb, settings: Settings
) -> None:
    """With the broker unreachable the scrape answers and says Redis is down."""
    web = await start_web(with_redis_down(settings))
    with capture_logs() as logs:
        scraped = await scrape(web)
    await web.close()
    assert scraped.value("onevice_dependency_up", dependency="redis") == 0
    assert scraped.value("onevice_dependency_up", dependency="postgres") == 1
    assert not scraped.has("onevice_queue_messages")
    failed = [e for e in logs if e["event"] == "metrics_read_failed"]
    assert [(e["store"], e["log_level"]) for e in failed] == [("redis", "warning")]


async def test_database_down_still_answers(
    start_web: StartWeb, settings: Settings
) -> None:
    """With PostgreSQL unreachable the scrape answers without the query figures."""
    web = await start_web(with_database_down(settings))
    scraped = await scrape(web)
    await web.close()
    assert scraped.value("onevice_dependency_up", dependency="postgres") == 0
    assert scraped.value("onevice_dependency_up", dependency="redis") == 1
    assert not scraped.has("onevice_queries")


async def test_the_scrape_holds_no_user_or_question(
    start_web: StartWeb, worker: WorkerProcess, make_user: MakeUser
) -> None:
    """Neither a user id, an organisation nor the text of a query is exposed."""
    web = await start_web()
    user = make_user()
    query_id = await submit(
        web,
        user,
        "test-stream",
        {"query": "secret merger with Orbit Records", "options": {"chunks": 2}},
    )
    await read_sse(web, user, query_id)
    text = (await scrape(web)).text
    for secret in (user.sub, query_id, "secret merger", "Orbit Records", DEFAULT_ORG):
        assert secret not in text
