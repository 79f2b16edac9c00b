"""The worker tier's autoscaler: its policy, its Render client, and the process."""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import itertools
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import orjson
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis

from onevice.base.settings import ENVIRONMENT, Settings
from onevice.services import backlog, queue
from onevice.services.backlog import Backlog
from onevice.services.embedded import free_port
from tests.fix_render import RENDER_KEY, FakeRender
from tests.fix_services import Isolate
from tests.fix_stack import ROOT, environment_of
from workers.autoscale import Autoscaler, DryRunScaler, RenderScaler
from workers.render_api import (
    RenderClient,
    RenderRefused,
    RenderUnavailable,
    Retry,
    wait_from_headers,
)
from workers.scaling import Bounds, Decision, ScalingPolicy

SERVICE = "srv-onevice-worker"
SPEC = Bounds()  # spec §7.3: 1 to 5 instances, > 100 up, < 10 for 10 minutes down


def seen(total: int, held: int = 0) -> Backlog:
    """A backlog of ``total`` messages, ``held`` of them by workers."""
    return Backlog(waiting=total - held, held=held, oldest_wait_seconds=0.0)


# The policy, one observation at a time.


def test_a_backlog_above_the_threshold_adds_one_instance() -> None:
    """101 pending jobs on one instance ask for a second one, not more."""
    decision = ScalingPolicy(SPEC).decide(seen(1000), 0.0, instances=1)
    assert (decision.target, decision.reason) == (2, "backlog_high")


def test_the_threshold_is_per_current_instance() -> None:
    """300 pending jobs over three instances (100 each) is not above the threshold."""
    decision = ScalingPolicy(SPEC).decide(seen(300), 0.0, instances=3)
    assert (decision.target, decision.reason) == (3, "steady")


def test_tasks_held_by_workers_count_as_backlog() -> None:
    """Reserved and running tasks count: 20 waiting and 90 held is 110 pending."""
    decision = ScalingPolicy(SPEC).decide(seen(110, held=90), 0.0, instances=1)
    assert decision.target == 2


def test_a_low_backlog_removes_one_only_after_the_whole_window() -> None:
    """Below 10 per instance, one instance goes only once 600 s have passed."""
    policy = ScalingPolicy(SPEC)
    early = [policy.decide(seen(5), now, instances=3) for now in (0.0, 300.0, 599.0)]
    late = policy.decide(seen(5), 600.0, instances=3)
    assert [d.reason for d in early] == ["low_within_window"] * 3
    assert (late.target, late.reason) == (2, "backlog_low")


def test_each_step_down_waits_a_whole_window_at_the_new_size() -> None:
    """After removing one instance, the next goes only a full window later."""
    policy = ScalingPolicy(SPEC)
    policy.decide(seen(0), 0.0, instances=3)
    assert policy.decide(seen(0), 600.0, instances=3).target == 2
    policy.changed(600.0)
    policy.decide(seen(0), 601.0, instances=2)
    assert policy.decide(seen(0), 1200.0, instances=2).reason == "low_within_window"
    assert policy.decide(seen(0), 1201.0, instances=2).target == 1


def test_one_busy_observation_restarts_the_window() -> None:
    """A backlog back at 10 per instance in the window starts the wait again."""
    policy = ScalingPolicy(SPEC)
    policy.decide(seen(0), 0.0, instances=2)
    policy.decide(seen(20), 400.0, instances=2)
    policy.decide(seen(0), 401.0, instances=2)
    assert policy.decide(seen(0), 900.0, instances=2).target == 2
    assert policy.decide(seen(0), 1001.0, instances=2).target == 1


def test_a_failed_measurement_restarts_the_window() -> None:
    """Time the backlog was not seen does not count towards a scale-down."""
    policy = ScalingPolicy(SPEC)
    policy.decide(seen(0), 0.0, instances=2)
    policy.unobserved()
    assert policy.decide(seen(0), 700.0, instances=2).reason == "low_within_window"


def test_no_change_during_the_cooldown() -> None:
    """After a change, a backlog still high waits out the cooldown (120 s)."""
    policy = ScalingPolicy(SPEC)
    policy.decide(seen(500), 0.0, instances=1)
    policy.changed(0.0)
    during = policy.decide(seen(500), 119.0, instances=2)
    after = policy.decide(seen(500), 120.0, instances=2)
    assert (during.target, during.reason) == (2, "cooldown")
    assert after.target == 3


def test_the_maximum_holds_under_any_backlog() -> None:
    """At five instances a huge backlog changes nothing."""
    decision = ScalingPolicy(SPEC).decide(seen(10**6), 0.0, instances=5)
    assert (decision.target, decision.reason) == (5, "at_max")


def test_the_minimum_holds_when_idle() -> None:
    """One idle instance stays after any time."""
    policy = ScalingPolicy(SPEC)
    policy.decide(seen(0), 0.0, instances=1)
    decision = policy.decide(seen(0), 10_000.0, instances=1)
    assert (decision.target, decision.reason) == (1, "at_min")


def test_a_count_outside_the_bounds_is_brought_to_the_nearest_bound() -> None:
    """Eight instances set by hand go to five at once, whatever the backlog."""
    decision = ScalingPolicy(SPEC).decide(seen(10**6), 0.0, instances=8)
    assert (decision.target, decision.reason) == (5, "above_max")


def test_bounds_come_from_settings() -> None:
    """The policy's bounds are the ONEVICE_AUTOSCALE_* settings."""
    settings = Settings.from_env(
        {
            "ONEVICE_AUTOSCALE_MIN_INSTANCES": "2",
            "ONEVICE_AUTOSCALE_MAX_INSTANCES": "9",
            "ONEVICE_AUTOSCALE_UP_THRESHOLD": "40",
            "ONEVICE_AUTOSCALE_DOWN_THRESHOLD": "4",
            "ONEVICE_AUTOSCALE_DOWN_WINDOW_SECONDS": "0",
            "ONEVICE_AUTOSCALE_COOLDOWN_SECONDS": "30",
        }
    )
    assert Bounds.from_settings(settings) == Bounds(
        min_instances=2,
        max_instances=9,
        up_threshold=40,
        down_threshold=4,
        down_window_seconds=0,
        cooldown_seconds=30,
    )


# The policy's properties, over runs of observations. Each run feeds the policy
# observations (waiting, held, seconds since the previous one) and applies every
# change it decides, as the autoscaler does.


@st.composite
def any_bounds(draw: st.DrawFn) -> Bounds:
    low = draw(st.integers(1, 4))
    down = draw(st.integers(1, 60))
    return Bounds(
        min_instances=low,
        max_instances=draw(st.integers(low, 8)),
        up_threshold=draw(st.integers(down + 1, 200)),
        down_threshold=down,
        down_window_seconds=draw(st.sampled_from([0, 45, 600])),
        cooldown_seconds=draw(st.sampled_from([0, 30, 120])),
    )


# Backlogs near zero as often as large ones, so runs reach both thresholds; gaps
# that cross the windows and cooldowns drawn in any_bounds.
observations = st.lists(
    st.tuples(
        st.sampled_from([0, 1, 3, 8, 30, 120, 400, 1500]),
        st.sampled_from([0, 0, 2, 40]),
        st.sampled_from([0, 5, 15, 50, 200, 600]),
    ),
    min_size=1,
    max_size=80,
)


@dataclasses.dataclass(frozen=True)
class Seen:
    now: float
    load: float
    decision: Decision


def simulate(bounds: Bounds, start: int, run: list[tuple[int, int, int]]) -> list[Seen]:
    policy = ScalingPolicy(bounds)
    instances, now, history = start, 0.0, []
    for waiting, held, gap in run:
        now += gap
        measured = Backlog(waiting=waiting, held=held, oldest_wait_seconds=0.0)
        decision = policy.decide(measured, now, instances=instances)
        history.append(Seen(now, measured.total / instances, decision))
        if decision.changes:
            policy.changed(now)
            instances = decision.target
    return history


@hypothesis.settings(max_examples=300)
@given(bounds=any_bounds(), start=st.integers(1, 12), run=observations)
def test_targets_never_leave_the_bounds(
    bounds: Bounds, start: int, run: list[tuple[int, int, int]]
) -> None:
    """Whatever the count found and the backlog, every target is within bounds."""
    targets = [seen.decision.target for seen in simulate(bounds, start, run)]
    assert all(bounds.min_instances <= t <= bounds.max_instances for t in targets)


@hypothesis.settings(max_examples=300)
@given(bounds=any_bounds(), data=st.data(), run=observations)
def test_a_change_is_one_step(
    bounds: Bounds, data: st.DataObject, run: list[tuple[int, int, int]]
) -> None:
    """From a count within bounds, every change adds or removes one instance."""
    start = data.draw(st.integers(bounds.min_instances, bounds.max_instances))
    changes = [s.decision for s in simulate(bounds, start, run) if s.decision.changes]
    assert all(abs(d.target - d.current) == 1 for d in changes)


@hypothesis.settings(max_examples=300)
@given(bounds=any_bounds(), data=st.data(), run=observations)
def test_no_change_within_the_cooldown(
    bounds: Bounds, data: st.DataObject, run: list[tuple[int, int, int]]
) -> None:
    """Two changes are always at least the cooldown apart."""
    start = data.draw(st.integers(bounds.min_instances, bounds.max_instances))
    times = [s.now for s in simulate(bounds, start, run) if s.decision.changes]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= bounds.cooldown_seconds for gap in gaps)


@hypothesis.settings(max_examples=300)
@given(bounds=any_bounds(), data=st.data(), run=observations)
def test_no_scale_down_before_the_window(
    bounds: Bounds, data: st.DataObject, run: list[tuple[int, int, int]]
) -> None:
    """A scale-down follows low observations since the last change over the window."""
    start = data.draw(st.integers(bounds.min_instances, bounds.max_instances))
    history = simulate(bounds, start, run)
    for index, seen in enumerate(history):
        if seen.decision.target >= seen.decision.current:
            continue
        streak: list[Seen] = []
        for earlier in reversed(history[: index + 1]):
            if earlier.load >= bounds.down_threshold or (
                earlier is not seen and earlier.decision.changes
            ):
                break
            streak.append(earlier)
        assert streak, "a scale-down on a busy observation"
        assert seen.now - streak[-1].now >= bounds.down_window_seconds


# The Render client, against the stand-in.


class Sleeps:
    """A sleep that records how long it was asked to wait and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(render_api: FakeRender, sleeps: Sleeps) -> AsyncIterator[RenderClient]:
    """A client of the stand-in, quick to retry, with its waits recorded."""
    render_api.add_service(SERVICE, 2)
    retry = Retry(attempts=4, backoff_seconds=0.2, max_backoff_seconds=0.5)
    async with RenderClient(
        render_api.url, RENDER_KEY, retry=retry, sleep=sleeps
    ) as client:
        yield client


async def test_the_count_is_read_with_the_bearer_key(
    client: RenderClient, render_api: FakeRender
) -> None:
    """The client reads serviceDetails.numInstances, authorised by the key."""
    state = await client.service(SERVICE)
    assert (state.instances, state.autoscaling) == (2, False)
    assert [(c.method, c.authorized) for c in render_api.calls] == [("GET", True)]


async def test_scale_posts_the_new_count(
    client: RenderClient, render_api: FakeRender
) -> None:
    """Scaling posts {"numInstances": n} to the service's scale endpoint."""
    await client.scale(SERVICE, 3)
    assert render_api.instances[SERVICE] == 3
    assert [(c.path, c.body) for c in render_api.calls] == [
        (f"/v1/services/{SERVICE}/scale", {"numInstances": 3})
    ]


async def test_a_rate_limit_is_waited_out_as_retry_after_says(
    client: RenderClient, render_api: FakeRender, sleeps: Sleeps
) -> None:
    """Two 429s with Retry-After: 7 mean two waits of 7 s, then the call succeeds."""
    render_api.fail(429, times=2, Retry_After="7")
    await client.scale(SERVICE, 4)
    assert sleeps.delays == [7.0, 7.0]
    assert (len(render_api.calls), render_api.instances[SERVICE]) == (3, 4)


async def test_ratelimit_reset_gives_the_wait_without_retry_after(
    client: RenderClient, render_api: FakeRender, sleeps: Sleeps
) -> None:
    """Ratelimit-Reset is read as seconds left, or as a Unix time when it is one."""
    render_api.fail(429, Ratelimit_Reset="9")
    render_api.fail(429, Ratelimit_Reset=str(int(time.time()) + 30))
    await client.service(SERVICE)
    assert sleeps.delays[0] == 9.0
    assert 25.0 < sleeps.delays[1] <= 31.0


def test_retry_after_may_be_an_http_date() -> None:
    """Retry-After as an HTTP date gives the seconds until that date."""
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    assert wait_from_headers(httpx.Headers({"Retry-After": date}), now) == 42.0


async def test_a_rate_limit_past_the_bound_is_reported_not_waited(
    client: RenderClient, render_api: FakeRender, sleeps: Sleeps
) -> None:
    """A 429 asking for an hour is not slept on: the caller learns how long."""
    render_api.fail(429, Retry_After="3600")
    with pytest.raises(RenderUnavailable) as raised:
        await client.scale(SERVICE, 3)
    assert (raised.value.retry_after, sleeps.delays) == (3600.0, [])
    assert render_api.instances[SERVICE] == 2


async def test_server_errors_are_retried_with_backoff(
    client: RenderClient, render_api: FakeRender, sleeps: Sleeps
) -> None:
    """Two 500s and a 503 are retried, each wait at most the backoff ceiling."""
    render_api.fail(500, times=2)
    render_api.fail(503)
    await client.scale(SERVICE, 3)
    assert render_api.instances[SERVICE] == 3
    assert len(sleeps.delays) == 3
    assert all(0.0 < delay <= 0.5 for delay in sleeps.delays)


async def test_retries_stop_at_the_bound(
    client: RenderClient, render_api: FakeRender
) -> None:
    """A Render that keeps failing gets four attempts, then RenderUnavailable."""
    render_api.fail(502, times=10)
    with pytest.raises(RenderUnavailable, match="502"):
        await client.service(SERVICE)
    assert len(render_api.calls) == 4


async def test_connection_errors_are_retried_then_reported(sleeps: Sleeps) -> None:
    """With nothing listening, the client tries three times and reports it."""
    retry = Retry(attempts=3, backoff_seconds=0.01)
    url = f"http://127.0.0.1:{free_port()}"
    async with RenderClient(url, RENDER_KEY, retry=retry, sleep=sleeps) as client:
        with pytest.raises(RenderUnavailable, match="unreachable"):
            await client.service(SERVICE)
    assert len(sleeps.delays) == 2


async def test_a_refused_key_is_reported_at_once(
    render_api: FakeRender, sleeps: Sleeps
) -> None:
    """A 401 is not retried; the error says the key was refused and holds no key."""
    render_api.add_service(SERVICE, 2)
    async with RenderClient(render_api.url, "rnd_wrong", sleep=sleeps) as client:
        with pytest.raises(RenderRefused) as raised:
            await client.scale(SERVICE, 3)
    assert (raised.value.response_status, len(render_api.calls)) == (401, 1)
    assert "API key" in raised.value.message
    assert "rnd_wrong" not in str(raised.value.details) + raised.value.message


async def test_an_unknown_service_is_refused(client: RenderClient) -> None:
    """A service id Render does not know is a RenderRefused with 404."""
    with pytest.raises(RenderRefused) as raised:
        await client.service("srv-nope")
    assert raised.value.response_status == 404


async def test_render_autoscaling_on_is_refused(
    client: RenderClient, render_api: FakeRender
) -> None:
    """While Render's own autoscaling is on, the autoscaler will not act."""
    render_api.add_service("srv-auto", 2, autoscaling=True)
    with pytest.raises(RenderRefused, match="autoscaling"):
        await RenderScaler(client, "srv-auto").instances()


# The autoscaler on a real broker.


@pytest.fixture
async def scaled(
    isolate: Isolate, render_api: FakeRender
) -> AsyncIterator[tuple[Settings, Redis]]:
    """Settings of a fresh Redis database, small thresholds, and the stand-in."""
    settings = dataclasses.replace(
        await isolate(),
        autoscale_up_threshold=3,
        autoscale_down_threshold=1,
        autoscale_down_window_seconds=30,
        autoscale_cooldown_seconds=10,
        render_api_key=RENDER_KEY,
        render_worker_service_id=SERVICE,
        render_api_url=render_api.url,
    )
    render_api.add_service(SERVICE, 1)
    client = Redis.from_url(settings.require_redis_url())
    yield settings, client
    await client.aclose()


async def fill(settings: Settings, count: int) -> None:
    """Send ``count`` queries with no worker to take them: they stay queued."""
    celery = queue.make_celery(settings)
    try:
        for number in range(count):
            await queue.enqueue(celery, f"query_autoscale_{number}", "test_stream")
    finally:
        celery.close()


async def test_queue_depth_scales_up_one_step_then_down_after_the_window(
    scaled: tuple[Settings, Redis], render_api: FakeRender
) -> None:
    """Five queued queries add one instance; drained, one goes after the window."""
    settings, redis = scaled
    await fill(settings, 5)
    async with RenderClient(render_api.url, RENDER_KEY) as client:
        autoscaler = Autoscaler(
            redis=redis,
            scaler=RenderScaler(client, SERVICE),
            policy=ScalingPolicy(Bounds.from_settings(settings)),
        )
        up = await autoscaler.step(1000.0)
        assert (up.current, up.target, render_api.instances[SERVICE]) == (1, 2, 2)

        await redis.delete(*backlog.queue_keys())
        waiting = await autoscaler.step(1100.0)
        assert (waiting.reason, render_api.instances[SERVICE]) == (
            "low_within_window",
            2,
        )
        down = await autoscaler.step(1130.0)
    assert (down.current, down.target, render_api.instances[SERVICE]) == (2, 1, 1)
    assert [call.body for call in render_api.scale_calls()] == [
        {"numInstances": 2},
        {"numInstances": 1},
    ]


async def test_a_dry_run_reads_the_count_but_never_scales(
    scaled: tuple[Settings, Redis], render_api: FakeRender
) -> None:
    """--dry-run decides from Render's count and keeps its change to itself."""
    settings, redis = scaled
    await fill(settings, 8)
    async with RenderClient(render_api.url, RENDER_KEY) as client:
        autoscaler = Autoscaler(
            redis=redis,
            scaler=DryRunScaler(RenderScaler(client, SERVICE), start=1),
            policy=ScalingPolicy(Bounds.from_settings(settings)),
            dry_run=True,
        )
        first = await autoscaler.step(0.0)
        second = await autoscaler.step(20.0)
    assert (first.target, second.current, second.target) == (2, 2, 3)
    assert render_api.scale_calls() == []
    assert render_api.instances[SERVICE] == 1


async def test_the_loop_outlives_a_failing_step(
    scaled: tuple[Settings, Redis], render_api: FakeRender
) -> None:
    """A 500 from Render is logged and the next step scales as it should."""
    settings, redis = scaled
    await fill(settings, 5)
    render_api.fail(500)
    retry = Retry(attempts=1)
    async with RenderClient(render_api.url, RENDER_KEY, retry=retry) as client:
        autoscaler = Autoscaler(
            redis=redis,
            scaler=RenderScaler(client, SERVICE),
            policy=ScalingPolicy(Bounds.from_settings(settings)),
        )
        loop = asyncio.create_task(autoscaler.run(interval=0.05))
        try:
            async with asyncio.timeout(30):
                while render_api.instances[SERVICE] == 1:
                    assert not loop.done(), loop
                    await asyncio.sleep(0.05)
        finally:
            loop.cancel()
    assert [call.method for call in render_api.calls[:2]] == ["GET", "GET"]
    assert render_api.instances[SERVICE] == 2


async def test_the_loop_ends_when_render_refuses_the_key(
    scaled: tuple[Settings, Redis], render_api: FakeRender
) -> None:
    """A refused key does not fix itself: the loop stops with RenderRefused."""
    _settings, redis = scaled
    async with RenderClient(render_api.url, "rnd_revoked") as client:
        autoscaler = Autoscaler(
            redis=redis,
            scaler=RenderScaler(client, SERVICE),
            policy=ScalingPolicy(SPEC),
        )
        with pytest.raises(RenderRefused):
            async with asyncio.timeout(30):
                await autoscaler.run(interval=0.05)


# The process, as Render and operators start it.


@dataclasses.dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str

    def events(self) -> list[dict[str, Any]]:
        lines = [line for line in self.stderr.splitlines() if line.startswith("{")]
        return [orjson.loads(line) for line in lines]


async def run_process(argv: list[str], env: dict[str, str]) -> Finished:
    """Run a command to the end without blocking the loop the stand-in serves on."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


def environment(settings: Settings, **render: str) -> dict[str, str]:
    """The child's environment: ``settings``, and only the Render variables given."""
    env = environment_of(settings)
    for name in ("RENDER_API_KEY", "RENDER_WORKER_SERVICE_ID", "RENDER_API_URL"):
        env.pop(name, None)
    return env | render


async def test_once_dry_run_process_logs_the_decision_and_calls_nothing(
    scaled: tuple[Settings, Redis], render_api: FakeRender
) -> None:
    """`python -m workers.autoscale --once --dry-run` logs a decision, calls no API."""
    settings, _redis = scaled
    await fill(settings, 5)
    env = environment(settings, RENDER_API_URL=render_api.url)
    argv = [sys.executable, "-m", "workers.autoscale", "--once", "--dry-run"]
    finished = await run_process(argv, env)
    assert finished.returncode == 0, finished.stderr
    decided = [e for e in finished.events() if e["event"] == "autoscale_decided"]
    assert [
        (e["current"], e["target"], e["waiting"], e["dry_run"]) for e in decided
    ] == [(1, 2, 5, True)]
    assert render_api.calls == []


async def test_onevice_autoscale_once_scales_and_never_logs_the_key(
    scaled: tuple[Settings, Redis], render_api: FakeRender
) -> None:
    """`onevice autoscale --once` scales the stand-in's worker; the key is in no log."""
    settings, _redis = scaled
    await fill(settings, 5)
    env = environment(
        settings,
        RENDER_API_URL=render_api.url,
        RENDER_API_KEY=RENDER_KEY,
        RENDER_WORKER_SERVICE_ID=SERVICE,
    )
    argv = [sys.executable, "-m", "onevice.cli", "autoscale", "--once"]
    finished = await run_process(argv, env)
    assert finished.returncode == 0, finished.stderr
    assert render_api.instances[SERVICE] == 2
    assert any(e["event"] == "worker_service_scaled" for e in finished.events())
    assert RENDER_KEY not in finished.stdout + finished.stderr


async def test_a_refused_key_ends_the_process_with_an_error(
    scaled: tuple[Settings, Redis], render_api: FakeRender
) -> None:
    """A key Render refuses makes --once exit 1 with a logged reason."""
    settings, _redis = scaled
    env = environment(
        settings,
        RENDER_API_URL=render_api.url,
        RENDER_API_KEY="rnd_revoked_key",
        RENDER_WORKER_SERVICE_ID=SERVICE,
    )
    argv = [sys.executable, "-m", "workers.autoscale", "--once"]
    finished = await run_process(argv, env)
    failed = [e for e in finished.events() if e["event"] == "autoscaler_failed"]
    assert finished.returncode == 1
    assert "API key" in failed[0]["error"]
    assert "rnd_revoked_key" not in finished.stderr


async def test_without_render_credentials_it_exits_with_a_clear_error(
    scaled: tuple[Settings, Redis], render_api: FakeRender
) -> None:
    """No key and no --dry-run: a one-line error naming the variables, no traceback."""
    settings, _redis = scaled
    env = environment(settings, RENDER_API_URL=render_api.url)
    argv = [sys.executable, "-m", "onevice.cli", "autoscale", "--once"]
    finished = await run_process(argv, env)
    assert finished.returncode == 2
    assert "RENDER_API_KEY" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert render_api.calls == []


async def test_sigterm_stops_the_long_running_process_cleanly(
    scaled: tuple[Settings, Redis], render_api: FakeRender
) -> None:
    """Started without --once it keeps deciding; SIGTERM ends it with status 0."""
    settings, _redis = scaled
    env = environment(
        dataclasses.replace(settings, autoscale_interval_seconds=0.1),
        RENDER_API_URL=render_api.url,
    )
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "workers.autoscale", "--dry-run"],
        env=env,
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    decisions = 0
    async with asyncio.timeout(60):
        while decisions < 2:
            line = await process.stderr.readline()
            assert line, "the autoscaler exited early"
            decisions += b'"autoscale_decided"' in line
        process.terminate()
        rest = await process.stderr.read()
        await process.wait()
    assert process.returncode == 0
    assert b'"autoscaler_stopped"' in rest


async def test_help_explains_the_policy(settings: Settings) -> None:
    """`python -m workers.autoscale --help` names the thresholds and --dry-run."""
    argv = [sys.executable, "-m", "workers.autoscale", "--help"]
    finished = await run_process(argv, environment(settings))
    assert finished.returncode == 0
    for word in ("ONEVICE_AUTOSCALE_UP_THRESHOLD", "--dry-run", "--once"):
        assert word in finished.stdout


# The deployment.


@pytest.fixture(scope="module")
def blueprint() -> Iterator[dict[str, Any]]:
    yield yaml.safe_load((ROOT / "render.yaml").read_text())


def services(blueprint: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {service["name"]: service for service in blueprint["services"]}


def test_the_worker_service_waits_out_the_soft_shutdown(
    blueprint: dict[str, Any],
) -> None:
    """Render waits longer for a stopping worker than Celery's soft shutdown lasts."""
    group = blueprint["envVarGroups"][0]["envVars"]
    env = {v["key"]: v["value"] for v in group if "value" in v}
    settings = Settings.from_env(env | {"REDIS_URL": "redis://127.0.0.1:1/0"})
    celery = queue.make_celery(settings)
    soft = celery.conf.worker_soft_shutdown_timeout
    worker = services(blueprint)["onevice-worker"]
    assert soft < worker["maxShutdownDelaySeconds"] <= 300


def test_the_worker_service_leaves_scaling_to_the_autoscaler(
    blueprint: dict[str, Any],
) -> None:
    """No `scaling:` block on the worker: Render would ignore the count we set."""
    assert "scaling" not in services(blueprint)["onevice-worker"]


def test_the_autoscaler_is_deployed_with_known_settings(
    blueprint: dict[str, Any],
) -> None:
    """render.yaml and the Procfile run `onevice autoscale` with listed variables."""
    autoscaler = services(blueprint)["onevice-autoscaler"]
    keys = {v["key"] for v in autoscaler["envVars"] if "key" in v} - {"PYTHON_VERSION"}
    procfile = (Path(ROOT) / "Procfile").read_text().splitlines()
    assert autoscaler["startCommand"] == "onevice autoscale"
    assert "autoscale: onevice autoscale" in procfile
    assert keys <= set(ENVIRONMENT)
    assert {"RENDER_API_KEY", "RENDER_WORKER_SERVICE_ID", "REDIS_URL"} <= keys
