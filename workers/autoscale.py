"""``python -m workers.autoscale``: size the worker service on Render by queue depth.

Every interval the autoscaler measures the backlog of the agents queue in the
broker (waiting messages plus those held by workers, see
``onevice.services.backlog``), reads the worker service's instance count from
Render, lets the policy of ``workers.scaling`` decide, and sets the new count
through Render's API (``workers.render_api``). Each decision is one
``autoscale_decided`` line with the numbers it was taken on.

``--dry-run`` decides and logs but never sets a count: it reads the count from
Render when a key and service id are given, otherwise it starts from the lower
bound, and carries each change it would have made into the next decision.
``--once`` measures and decides once, then exits (0, or 1 if it failed).

How a scale-down drains. Render chooses an instance to remove and sends its
worker SIGTERM. Celery then stops taking tasks and finishes the ones it holds
(the soft shutdown of ``onevice.services.queue.make_celery``). Tasks reserved
but not started go back to the queue when the worker's connection closes;
tasks still running when the soft shutdown times out were never acknowledged
(acks late), so the broker hands them to another worker, which resumes the
query with the ``restarted`` event. The worker service's
``maxShutdownDelaySeconds`` in ``render.yaml`` is longer than the soft shutdown
plus closing the worker's connections, so Render does not kill a worker while it
drains. Render's own autoscaling must stay off for that service (no
``scaling:`` block): while it is on, Render ignores the count set here, and the
autoscaler refuses to act.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from onevice.base.settings import Settings, SettingsError
from onevice.services import backlog, logs
from workers.render_api import (
    RenderClient,
    RenderError,
    RenderRefused,
    RenderUnavailable,
)
from workers.scaling import Bounds, Decision, ScalingPolicy

log = structlog.get_logger(__name__)

DESCRIPTION = (
    "Size the Celery worker service on Render by the depth of the agents queue: "
    "add an instance while the backlog (waiting plus held by workers) per "
    "instance is above ONEVICE_AUTOSCALE_UP_THRESHOLD, remove one after it stayed "
    "below ONEVICE_AUTOSCALE_DOWN_THRESHOLD for ONEVICE_AUTOSCALE_DOWN_WINDOW_SECONDS, "
    "one step at a time, between ONEVICE_AUTOSCALE_MIN_INSTANCES and "
    "ONEVICE_AUTOSCALE_MAX_INSTANCES, "
    "with ONEVICE_AUTOSCALE_COOLDOWN_SECONDS after each change. Needs REDIS_URL, "
    "RENDER_API_KEY and RENDER_WORKER_SERVICE_ID (not with --dry-run)."
)


class Scaler(Protocol):
    """Where the instance count is read and set."""

    async def instances(self) -> int: ...

    async def scale(self, instances: int) -> None: ...


class RenderScaler:
    """The worker service on Render."""

    def __init__(self, client: RenderClient, service_id: str):
        self.client = client
        self.service_id = service_id

    async def instances(self) -> int:
        state = await self.client.service(self.service_id)
        if state.autoscaling:
            raise RenderRefused(
                "Render's own autoscaling is on for the worker service, so it "
                "ignores the instance count; turn it off (no `scaling:` block)"
            )
        return state.instances

    async def scale(self, instances: int) -> None:
        await self.client.scale(self.service_id, instances)


class DryRunScaler:
    """Reads the count (from Render if it can) and never changes it.

    A change the policy decides is kept here instead, so the decisions that
    follow are the ones that would follow had it been made.
    """

    def __init__(self, render: RenderScaler | None, *, start: int):
        self._render = render
        self._start = start
        self._count: int | None = None

    async def instances(self) -> int:
        if self._count is None:
            render = self._render
            self._count = self._start if render is None else await render.instances()
        return self._count

    async def scale(self, instances: int) -> None:
        log.info("scale_skipped", dry_run=True, instances=instances)
        self._count = instances


class Autoscaler:
    """One measurement, one decision, at most one change per step."""

    def __init__(
        self,
        *,
        redis: Redis,
        scaler: Scaler,
        policy: ScalingPolicy,
        dry_run: bool = False,
    ):
        self.redis = redis
        self.scaler = scaler
        self.policy = policy
        self.dry_run = dry_run

    async def step(self, now: float) -> Decision:
        """Measure, decide at ``now`` (monotonic seconds), and apply the decision."""
        try:
            measured = await backlog.measure(self.redis)
        except (RedisError, OSError):
            self.policy.unobserved()
            raise
        instances = await self.scaler.instances()
        decision = self.policy.decide(measured, now, instances=instances)
        log.info(
            "autoscale_decided",
            current=decision.current,
            target=decision.target,
            reason=decision.reason,
            load=round(decision.load, 2),
            waiting=measured.waiting,
            held=measured.held,
            oldest_wait_seconds=round(measured.oldest_wait_seconds, 1),
            dry_run=self.dry_run,
        )
        if decision.changes:
            await self.scaler.scale(decision.target)
            self.policy.changed(now)
            if not self.dry_run:
                log.info(
                    "worker_service_scaled",
                    instances_before=decision.current,
                    instances=decision.target,
                )
        return decision

    async def run(
        self, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Step every ``interval`` seconds until cancelled or refused by Render.

        A refusal (bad key, unknown service, Render's autoscaling on) does not
        fix itself, so it ends the loop; anything passing is logged and retried
        at the next step, no sooner than a rate limit asks.
        """
        while True:
            delay = interval
            try:
                await self.step(clock())
            except RenderRefused:
                raise
            except RenderUnavailable as exc:
                log.warning("autoscale_step_failed", error=exc.message)
                delay = max(interval, exc.retry_after)
            except RenderError as exc:
                log.warning("autoscale_step_failed", error=exc.message)
            except (RedisError, OSError) as exc:
                log.warning("backlog_unavailable", error=type(exc).__name__)
            await asyncio.sleep(delay)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onevice autoscale",
        description=DESCRIPTION,
        epilog="Settings come from the environment; `onevice settings` lists them.",
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The autoscaler's options."""
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="decide and log, never change the instance count",
    )
    parser.add_argument(
        "--once", action="store_true", help="measure and decide once, then exit"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the autoscaler; the exit status says whether it could."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        redis_url = settings.require_redis_url()
    except SettingsError as exc:
        return _fail(str(exc))
    logs.configure(settings)
    configured = settings.render_api_key and settings.render_worker_service_id
    if not configured and not args.dry_run:
        return _fail(
            "RENDER_API_KEY and RENDER_WORKER_SERVICE_ID must be set to scale the "
            "worker service (or pass --dry-run to only log decisions)"
        )
    try:
        return asyncio.run(
            _serve(settings, redis_url, once=args.once, dry=args.dry_run)
        )
    except KeyboardInterrupt:
        return 130


async def _serve(settings: Settings, redis_url: str, *, once: bool, dry: bool) -> int:
    bounds = Bounds.from_settings(settings)
    async with contextlib.AsyncExitStack() as stack:
        redis = Redis.from_url(redis_url, socket_timeout=10)
        stack.push_async_callback(redis.aclose)
        render = None
        if settings.render_api_key and settings.render_worker_service_id:
            client = RenderClient(settings.render_api_url, settings.render_api_key)
            stack.push_async_callback(client.close)
            render = RenderScaler(client, settings.render_worker_service_id)
        scaler: Scaler
        if dry or render is None:
            scaler = DryRunScaler(render, start=bounds.min_instances)
        else:
            scaler = render
        autoscaler = Autoscaler(
            redis=redis, scaler=scaler, policy=ScalingPolicy(bounds), dry_run=dry
        )
        log.info(
            "autoscaler_started",
            service_id=settings.render_worker_service_id,
            dry_run=dry,
            min_instances=bounds.min_instances,
            max_instances=bounds.max_instances,
            up_threshold=bounds.up_threshold,
            down_threshold=bounds.down_threshold,
            down_window_seconds=bounds.down_window_seconds,
            cooldown_seconds=bounds.cooldown_seconds,
        )
        try:
            if once:
                await autoscaler.step(time.monotonic())
            else:
                await _until_terminated(
                    autoscaler.run(settings.autoscale_interval_seconds)
                )
        except RenderError as exc:
            log.error("autoscaler_failed", error=exc.message)
            return 1
        except (RedisError, OSError) as exc:
            log.error("backlog_unavailable", error=type(exc).__name__)
            return 1
    log.info("autoscaler_stopped")
    return 0


async def _until_terminated(loop_forever: Coroutine[Any, Any, None]) -> None:
    """Run the loop until SIGTERM (Render stopping the process) cancels it."""
    task = asyncio.ensure_future(loop_forever)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _fail(message: str) -> int:
    print(f"onevice autoscale: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
