"""A stand-in for Anthropic's Messages API: a real HTTP server on loopback.

It speaks the streaming protocol the official SDK reads (server-sent events
``message_start``, ``content_block_start``, ``content_block_delta``…,
``message_delta``, ``message_stop``), so the SDK is used unchanged through its
``base_url``. Tests choose what it does next: stream a reply, fail with a
status, or cut the stream after a few words.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

Mode = Literal["reply", "error", "cut"]
STATE = web.AppKey("state", dict)


@dataclasses.dataclass
class FakeAnthropic:
    """What the stand-in received, and what it does with the next request."""

    server: TestServer
    requests: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    headers: list[dict[str, str]] = dataclasses.field(default_factory=list)
    mode: Mode = "reply"
    status: int = 500
    words: tuple[str, ...] = ("Ridley ", "Scott ", "directs ", "films.")
    input_tokens: int = 120

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def reset(self, mode: Mode = "reply", **changes: Any) -> None:
        self.requests.clear()
        self.headers.clear()
        self.mode = mode
        for name, value in changes.items():
            setattr(self, name, value)

    def prompt(self, index: int = -1) -> str:
        """The user message of a request received."""
        return str(self.requests[index]["messages"][0]["content"])


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


async def _messages(request: web.Request) -> web.StreamResponse:
    fake = request.app[STATE]["fake"]
    body = await request.json()
    fake.requests.append(body)
    fake.headers.append({k.lower(): v for k, v in request.headers.items()})
    if fake.mode == "error":
        return web.json_response(
            {
                "type": "error",
                "error": {"type": "api_error", "message": "stand-in failure"},
            },
            status=fake.status,
        )
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    message = {
        "id": "msg_standin",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": body["model"],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": fake.input_tokens, "output_tokens": 1},
    }
    await response.write(
        _event("message_start", {"type": "message_start", "message": message})
    )
    await response.write(
        _event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
    )
    words = fake.words[:2] if fake.mode == "cut" else fake.words
    for word in words:
        await response.write(
            _event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": word},
                },
            )
        )
    if fake.mode == "cut":
        # The connection drops in the middle of the reply.
        assert request.transport is not None
        request.transport.close()
        return response
    await response.write(
        _event("content_block_stop", {"type": "content_block_stop", "index": 0})
    )
    await response.write(
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(words)},
            },
        )
    )
    await response.write(_event("message_stop", {"type": "message_stop"}))
    await response.write_eof()
    return response


@pytest.fixture(scope="session")
async def fake_anthropic() -> AsyncIterator[FakeAnthropic]:
    app = web.Application()
    app.router.add_post("/v1/messages", _messages)
    state: dict[str, FakeAnthropic] = {}
    app[STATE] = state
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake = state["fake"] = FakeAnthropic(server)
    yield fake
    await server.close()
