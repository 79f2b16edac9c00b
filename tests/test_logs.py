"""Logs never carry tokens or secrets."""

from __future__ import annotations

import orjson
from structlog.testing import capture_logs

from onevice.services.logs import redact
from tests.fix_stack import User, WebServer
from tests.test_websocket import connect


def test_credential_keys_are_blanked() -> None:
    """Values under keys that name a credential are replaced."""
    event = redact(None, "info", {"authorization": "Bearer abc", "api_key": "k"})
    assert event == {"authorization": "[redacted]", "api_key": "[redacted]"}


def test_tokens_in_urls_are_blanked() -> None:
    """A ?token= inside a logged string is replaced."""
    event = redact(None, "info", {"url": "/ws?token=abc.def&user_id=1"})
    assert event["url"] == "/ws?token=[redacted]&user_id=1"


async def test_socket_with_token_in_url_logs_no_token(
    web: WebServer, user: User
) -> None:
    """Opening /ws?token=… logs the request without the token anywhere."""
    with capture_logs() as logs:
        ws = await connect(web, user)
        await ws.close()
    assert logs, "the socket's life is logged"
    assert user.token not in orjson.dumps(logs, default=str).decode()


async def test_authorization_headers_are_not_logged(web: WebServer, user: User) -> None:
    """A REST request's bearer token appears in no log event."""
    with capture_logs() as logs:
        async with web.session.get("/users/profile", headers=user.headers) as r:
            await r.read()
    assert logs, "the request is logged"
    assert user.token not in orjson.dumps(logs, default=str).decode()
