"""A stand-in for Render's REST API: a real HTTP server on loopback.

It keeps an instance count per service, answers ``GET /v1/services/{id}`` and
``POST /v1/services/{id}/scale`` as Render does for a background worker,
checks the bearer key, and records every call. Tests can make it answer 429
(with ``Retry-After`` or ``Ratelimit-Reset``) or a 5xx a given number of times.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

RENDER_KEY = "rnd_standin_4f1c9e7a2b"
STATE = web.AppKey("render_state", dict)


@dataclasses.dataclass(frozen=True)
class Call:
    """One request the stand-in received."""

    method: str
    path: str
    body: Any
    authorized: bool


@dataclasses.dataclass
class Failure:
    """A planned answer for the next requests, instead of the real one."""

    status: int
    times: int
    headers: dict[str, str]


@dataclasses.dataclass
class FakeRender:
    """What the stand-in holds and received, and the failures it will answer."""

    server: TestServer
    api_key: str = RENDER_KEY
    instances: dict[str, int] = dataclasses.field(default_factory=dict)
    autoscaling: dict[str, bool] = dataclasses.field(default_factory=dict)
    calls: list[Call] = dataclasses.field(default_factory=list)
    failures: list[Failure] = dataclasses.field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def add_service(
        self, service_id: str, instances: int = 1, *, autoscaling: bool = False
    ) -> None:
        self.instances[service_id] = instances
        self.autoscaling[service_id] = autoscaling

    def fail(self, status: int, times: int = 1, **headers: str) -> None:
        """Answer ``status`` to the next ``times`` requests (headers with _ as -)."""
        named = {name.replace("_", "-"): value for name, value in headers.items()}
        self.failures.append(Failure(status, times, named))

    def scale_calls(self) -> list[Call]:
        return [call for call in self.calls if call.path.endswith("/scale")]


def _error(status: int, error_id: str, message: str) -> web.Response:
    return web.json_response({"id": error_id, "message": message}, status=status)


async def _guard(request: web.Request) -> tuple[FakeRender, web.Response | None]:
    """Record the call; the answer that replaces the real one, if any."""
    fake: FakeRender = request.app[STATE]["fake"]
    body = await request.json() if request.can_read_body else None
    authorized = request.headers.get("Authorization") == f"Bearer {fake.api_key}"
    fake.calls.append(Call(request.method, request.path, body, authorized))
    if not authorized:
        return fake, _error(401, "unauthorized", "Authorization is missing or invalid")
    if request.headers.get("Accept") != "application/json":
        return fake, _error(406, "not_acceptable", "Accept application/json")
    if fake.failures:
        failure = fake.failures[0]
        failure.times -= 1
        if failure.times <= 0:
            fake.failures.pop(0)
        message = "Rate limit has been surpassed" if failure.status == 429 else "fail"
        answer = _error(failure.status, "standin", message)
        answer.headers.update(failure.headers)
        return fake, answer
    if request.match_info["service_id"] not in fake.instances:
        return fake, _error(404, "not_found", "Unable to find the requested resource")
    return fake, None


async def _service(request: web.Request) -> web.Response:
    fake, answer = await _guard(request)
    if answer is not None:
        return answer
    service_id = request.match_info["service_id"]
    return web.json_response(
        {
            "id": service_id,
            "type": "background_worker",
            "name": "onevice-worker",
            "suspended": "not_suspended",
            "serviceDetails": {
                "numInstances": fake.instances[service_id],
                "autoscaling": {
                    "enabled": fake.autoscaling[service_id],
                    "min": 1,
                    "max": 5,
                },
                "plan": "starter",
                "region": "oregon",
            },
        }
    )


async def _scale(request: web.Request) -> web.Response:
    fake, answer = await _guard(request)
    if answer is not None:
        return answer
    body = fake.calls[-1].body
    count = body.get("numInstances") if isinstance(body, dict) else None
    if not isinstance(count, int) or not 1 <= count <= 100:
        return _error(400, "invalid", "numInstances must be between 1 and 100")
    fake.instances[request.match_info["service_id"]] = count
    return web.Response(status=202)


@pytest.fixture
async def render_api() -> AsyncIterator[FakeRender]:
    """A Render API stand-in on loopback, fresh for each test."""
    app = web.Application()
    app.router.add_get("/v1/services/{service_id}", _service)
    app.router.add_post("/v1/services/{service_id}/scale", _scale)
    state: dict[str, FakeRender] = {}
    app[STATE] = state
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake = state["fake"] = FakeRender(server)
    yield fake
    await server.close()
