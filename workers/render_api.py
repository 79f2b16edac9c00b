"""A client of Render's REST API for one job: read and set a service's instances.

``GET /v1/services/{id}`` gives the service, with the instance count of a
background worker at ``serviceDetails.numInstances``; ``POST
/v1/services/{id}/scale`` with ``{"numInstances": n}`` sets it. Setting an
absolute count is idempotent, so every failure that may be passing is retried:

- 429: wait as long as ``Retry-After`` says (seconds or an HTTP date), or until
  ``Ratelimit-Reset``; a wait longer than the configured bound is not waited
  out here but reported, with how long, to the caller.
- 5xx and connection errors: exponential backoff with jitter.
- any other 4xx (a refused key, an unknown service): reported at once.

The errors, all rooted in OneVice's error tree::

    RenderError                 the count could not be read or set
    ├── RenderRefused           Render answered 4xx other than 429; not retried
    └── RenderUnavailable       5xx, no connection or rate limited, past the bound

The API key goes into the ``Authorization`` header and nowhere else: not into
an error, not into a log line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Final

import httpx
import structlog

from onevice.base.errors import DependencyUnavailable

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]

#: Any Unix time after 2001 exceeds this; a smaller reset is a number of seconds.
_EPOCH_FLOOR: Final = 1e9


class RenderError(DependencyUnavailable):
    """The worker service's instance count could not be read or set."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message, details={"dependency": "render", "status": status})
        self.response_status = status


class RenderRefused(RenderError):
    """Render refused the request (bad key, unknown service, bad body)."""


class RenderUnavailable(RenderError):
    """Render could not be reached or kept failing; ``retry_after`` if it said."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float = 0.0
    ):
        super().__init__(message, status=status)
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True, kw_only=True)
class Retry:
    """How hard to try: attempts per request, backoff, the longest wait honoured."""

    attempts: int = 5
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    max_wait_seconds: float = 120.0

    def backoff(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1``: doubling, capped, jittered."""
        ceiling = min(
            self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1)
        )
        # Jitter spreads the retries of several clients; it guards nothing secret.
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311


@dataclasses.dataclass(frozen=True)
class ServiceState:
    """What the autoscaler needs to know about the worker service."""

    instances: int
    #: Render's own autoscaling; while it is on, Render ignores a set count.
    autoscaling: bool


def wait_from_headers(headers: httpx.Headers, now: float) -> float | None:
    """Seconds a 429 asks us to wait, from ``Retry-After`` or ``Ratelimit-Reset``.

    ``now`` is the Unix time. Render documents ``Ratelimit-Reset`` as a Unix
    time but its own example shows seconds left, so both are read.
    """
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - now)
    reset = headers.get("ratelimit-reset")
    if reset:
        try:
            value = float(reset)
        except ValueError:
            return None
        return max(0.0, value - now if value > _EPOCH_FLOOR else value)
    return None


class RenderClient:
    """An async client of Render's API, authenticated with one API key."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        retry: Retry | None = None,
        timeout_seconds: float = 10.0,
        sleep: Sleep = asyncio.sleep,
    ):
        self.retry = retry or Retry()
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
            },
            timeout=timeout_seconds,
        )

    async def __aenter__(self) -> RenderClient:
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def service(self, service_id: str) -> ServiceState:
        """The service's instance count and whether Render autoscales it."""
        response = await self._request("GET", f"/v1/services/{service_id}")
        try:
            details = response.json()["serviceDetails"]
            instances = details["numInstances"]
            autoscaling = bool((details.get("autoscaling") or {}).get("enabled"))
        except (ValueError, KeyError, TypeError, AttributeError):
            instances, autoscaling = None, False
        if not isinstance(instances, int) or isinstance(instances, bool):
            raise RenderError(
                "Render's answer has no serviceDetails.numInstances; is the id "
                "that of a background worker?",
                status=response.status_code,
            )
        return ServiceState(instances=instances, autoscaling=autoscaling)

    async def scale(self, service_id: str, instances: int) -> None:
        """Ask Render to run ``instances`` instances of the service."""
        await self._request(
            "POST", f"/v1/services/{service_id}/scale", json={"numInstances": instances}
        )

    async def _request(
        self, method: str, path: str, json: dict[str, Any] | None = None
    ) -> httpx.Response:
        retry = self.retry
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(method, path, json, attempt)
            if isinstance(outcome, httpx.Response):
                return outcome
            failure, delay = outcome
            give_up = attempt >= retry.attempts or delay > retry.max_wait_seconds
            log.warning(
                "render_request_failed",
                method=method,
                path=path,
                status=failure.response_status,
                error=failure.message,
                attempt=attempt,
                retry_in=None if give_up else round(delay, 3),
            )
            if give_up:
                raise failure
            await self._sleep(delay)

    async def _attempt(
        self, method: str, path: str, json: dict[str, Any] | None, attempt: int
    ) -> httpx.Response | tuple[RenderUnavailable, float]:
        """One request: the response, or the failure and how long to wait."""
        backoff = self.retry.backoff(attempt)
        try:
            response = await self._http.request(method, path, json=json)
        except httpx.TransportError as exc:
            name = type(exc).__name__
            return RenderUnavailable(f"Render is unreachable ({name})"), backoff
        status = response.status_code
        if status < 400:
            return response
        if status == 429:
            wait = wait_from_headers(response.headers, time.time())
            delay = backoff if wait is None else wait
            message = "Render's rate limit was reached"
            return RenderUnavailable(message, status=429, retry_after=delay), delay
        if status >= 500:
            return RenderUnavailable(
                f"Render answered {status}", status=status
            ), backoff
        log.warning("render_request_refused", method=method, path=path, status=status)
        raise RenderRefused(_refusal(response), status=status)


def _refusal(response: httpx.Response) -> str:
    """Render's reason for a 4xx (its body is ``{"id", "message"}``)."""
    try:
        reason = str(response.json()["message"])
    except (ValueError, KeyError, TypeError):
        reason = response.reason_phrase
    if response.status_code == 401:
        return f"Render refused the API key (401): {reason}"
    return f"Render refused the request ({response.status_code}): {reason}"
