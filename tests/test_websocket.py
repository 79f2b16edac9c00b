"""The WebSocket protocol of spec §3."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import socket
import struct
from typing import Any

import aiohttp
import orjson
from yarl import URL

from onevice.base.settings import Settings
from tests.fix_stack import StartWeb, User, WebServer, WorkerProcess


async def receive(
    ws: aiohttp.ClientWebSocketResponse, timeout: float = 15
) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        message: dict[str, Any] = await ws.receive_json()
    return message


async def receive_until(
    ws: aiohttp.ClientWebSocketResponse, *kinds: str, timeout: float = 15
) -> list[dict[str, Any]]:
    """Messages up to and including the first of ``kinds``."""
    messages = []
    while True:
        message = await receive(ws, timeout)
        messages.append(message)
        if message["type"] in kinds:
            return messages


async def connect(web: WebServer, user: User) -> aiohttp.ClientWebSocketResponse:
    ws = await web.session.ws_connect(web.ws_url(user.token))
    greeting = await receive(ws)
    assert greeting["type"] == "connection"
    return ws


async def ask(
    ws: aiohttp.ClientWebSocketResponse,
    *,
    agent: str = "test_stream",
    message_id: str | None = None,
    **options: int,
) -> None:
    """Send an agent_query for ``agent`` with ``options``."""
    message: dict[str, Any] = {
        "type": "agent_query",
        "data": {"agent": agent, "query": "q", "options": options},
    }
    if message_id is not None:
        message["message_id"] = message_id
    await ws.send_json(message)


async def read_through_chunk(
    ws: aiohttp.ClientWebSocketResponse, index: int
) -> list[dict[str, Any]]:
    """Messages up to and including chunk ``index``."""
    seen = await receive_until(ws, "agent_response_chunk")
    while seen[-1]["data"].get("chunk_index", 0) < index:
        seen.append(await receive(ws))
    return seen


def chunk_indexes(messages: list[dict[str, Any]]) -> list[int]:
    return [
        m["data"]["chunk_index"]
        for m in messages
        if m["type"] == "agent_response_chunk"
    ]


async def resume(
    ws: aiohttp.ClientWebSocketResponse, query_id: str, after_chunk: int
) -> list[dict[str, Any]]:
    """Resume ``query_id`` after a chunk; the messages through the final one."""
    await ws.send_json(
        {"type": "resume", "data": {"query_id": query_id, "after_chunk": after_chunk}}
    )
    return await receive_until(ws, "agent_response_complete", "error")


async def test_connection_handshake_lists_agents_and_limits(
    web: WebServer, user: User
) -> None:
    """The server greets with the supported agents and the user's limits."""
    ws = await web.session.ws_connect(web.ws_url(user.token))
    greeting = await receive(ws)
    await ws.close()
    assert greeting["data"]["status"] == "connected"
    assert {
        "sales_intelligence",
        "case_study",
        "talent_discovery",
        "bidding_support",
    } <= set(greeting["data"]["supported_agents"])
    assert greeting["data"]["rate_limits"]["concurrent_queries"] == 3


async def test_ping_gets_pong(web: WebServer, user: User) -> None:
    """A ping is answered with a pong carrying the server status."""
    ws = await connect(web, user)
    await ws.send_json({"type": "ping", "timestamp": "2025-09-01T12:00:00Z"})
    pong = await receive(ws)
    await ws.close()
    assert (pong["type"], pong["server_status"]) == ("pong", "healthy")


async def test_agent_query_streams_typing_chunks_and_complete(
    web: WebServer, user: User
) -> None:
    """An agent_query yields agent_typing, numbered chunks, then the result."""
    ws = await connect(web, user)
    await ws.send_json(
        {
            "message_id": "msg_1",
            "type": "agent_query",
            "data": {"agent": "test_stream", "query": "q", "options": {"chunks": 4}},
        }
    )
    messages = await receive_until(ws, "agent_response_complete", "error")
    await ws.close()
    assert messages[0]["type"] == "agent_typing"
    chunks = [m for m in messages if m["type"] == "agent_response_chunk"]
    assert [c["data"]["chunk_index"] for c in chunks] == [1, 2, 3, 4]
    assert {c["message_id"] for c in chunks} == {"msg_1"}
    complete = messages[-1]
    assert complete["type"] == "agent_response_complete"
    assert complete["data"]["query_id"] == chunks[0]["data"]["query_id"]
    assert complete["data"]["result"]["result"]["summary"] == "4 parts"


async def test_invalid_json_gets_an_error_and_the_socket_stays_open(
    web: WebServer, user: User
) -> None:
    """A frame that is not JSON gets a VALIDATION_ERROR; the socket keeps working."""
    ws = await connect(web, user)
    await ws.send_str("{not json")
    error = await receive(ws)
    await ws.send_json({"type": "ping"})
    pong = await receive(ws)
    await ws.close()
    assert error["data"]["error_code"] == "VALIDATION_ERROR"
    assert error["data"]["request_id"].startswith("req_")
    assert pong["type"] == "pong"


async def test_a_crash_on_one_message_leaves_the_socket_open(
    web: WebServer, user: User
) -> None:
    """A bug handling a message gets INTERNAL_ERROR; the socket keeps working."""
    ws = await connect(web, user)
    await ask(ws, agent="test_buggy", message_id="msg_buggy")
    error = await receive(ws)
    await ws.send_json({"type": "ping"})
    pong = await receive(ws)
    await ws.close()
    assert error["type"] == "error"
    assert error["data"]["error_code"] == "INTERNAL_ERROR"
    assert error["message_id"] == "msg_buggy"
    assert "on purpose" not in str(error)  # no internals shown to the client
    assert pong["type"] == "pong"


async def test_unknown_message_type_lists_the_valid_ones(
    web: WebServer, user: User
) -> None:
    """An unknown message type is refused with the valid types as options."""
    ws = await connect(web, user)
    await ws.send_json({"type": "dance"})
    error = await receive(ws)
    await ws.close()
    field = error["data"]["details"]["invalid_fields"][0]
    assert field["valid_options"] == [
        "connection",
        "agent_query",
        "ping",
        "resume",
        "cancel",
    ]


async def test_unknown_agent_lists_the_valid_ones(web: WebServer, user: User) -> None:
    """An agent_query for an unknown agent names the valid agents."""
    ws = await connect(web, user)
    await ws.send_json({"type": "agent_query", "data": {"agent": "nope", "query": "q"}})
    error = await receive(ws)
    await ws.close()
    field = error["data"]["details"]["invalid_fields"][0]
    assert field["field"] == "agent"
    assert "case_study" in field["valid_options"]


async def test_oversize_frame_gets_an_error_and_the_socket_stays_open(
    web: WebServer, user: User
) -> None:
    """A frame above the limit gets PAYLOAD_TOO_LARGE; the socket is not dropped."""
    ws = await connect(web, user)
    await ws.send_json({"type": "agent_query", "data": {"query": "x" * 10_000}})
    error = await receive(ws)
    await ws.send_json({"type": "ping"})
    pong = await receive(ws)
    await ws.close()
    assert error["data"]["error_code"] == "PAYLOAD_TOO_LARGE"
    assert pong["type"] == "pong"


async def test_socket_without_a_valid_token_is_refused(web: WebServer) -> None:
    """The upgrade is refused with 401 when the token does not verify."""
    async with web.session.get("/ws", params={"token": "not-a-token"}) as response:
        body = await response.json()
    assert (response.status, body["error"]["code"]) == (401, "UNAUTHORIZED")


async def test_resume_on_a_new_socket_gets_the_rest_once(
    web: WebServer, user: User
) -> None:
    """After a disconnect at chunk k, resume gives chunks k+1..n exactly once."""
    ws = await connect(web, user)
    await ask(ws, chunks=30, delay_ms=10)
    query_id = (await read_through_chunk(ws, 5))[-1]["data"]["query_id"]
    await ws.close()

    ws = await connect(web, user)
    rest = await resume(ws, query_id, 5)
    await ws.close()
    assert chunk_indexes(rest) == list(range(6, 31))


async def test_resume_of_someone_elses_query_is_not_found(
    web: WebServer, user: User, make_user: Any
) -> None:
    """Resuming a query of another user is refused as not found."""
    ws = await connect(web, user)
    await ws.send_json(
        {"type": "agent_query", "data": {"agent": "test_stream", "query": "q"}}
    )
    first = await receive(ws)
    await ws.close()
    stranger = make_user()
    ws = await connect(web, stranger)
    await ws.send_json(
        {
            "type": "resume",
            "data": {"query_id": first["data"]["query_id"], "after_chunk": 0},
        }
    )
    error = await receive(ws)
    await ws.close()
    assert error["data"]["error_code"] == "NOT_FOUND"


async def test_cancel_over_the_socket_ends_the_query(
    web: WebServer, user: User
) -> None:
    """A cancel message stops the query; its stream ends with QUERY_CANCELLED."""
    ws = await connect(web, user)
    await ask(ws, chunks=500, delay_ms=10)
    query_id = (await read_through_chunk(ws, 1))[-1]["data"]["query_id"]
    await ws.send_json({"type": "cancel", "data": {"query_id": query_id}})
    messages = await receive_until(ws, "error")
    if all(m["type"] != "cancel" for m in messages):
        messages += await receive_until(ws, "cancel")
    await ws.close()
    errors = [m["data"]["error_code"] for m in messages if m["type"] == "error"]
    assert errors == ["QUERY_CANCELLED"]


async def test_messages_over_the_role_limit_are_refused(
    web: WebServer, user: User
) -> None:
    """A Salesperson's 101st message in a minute gets RATE_LIMIT_EXCEEDED."""
    ws = await connect(web, user)
    for _ in range(100):
        await ws.send_json({"type": "connection", "data": {}})
        assert (await receive(ws))["type"] == "connection"
    await ws.send_json({"type": "connection", "data": {}})
    error = await receive(ws)
    await ws.close()
    assert error["data"]["error_code"] == "RATE_LIMIT_EXCEEDED"
    assert 0 < error["data"]["retry_after"] <= 60
    assert error["data"]["details"]["limit"] == 100


async def test_repeated_message_id_does_not_run_the_query_twice(
    web: WebServer, user: User
) -> None:
    """An agent_query re-sent with the same message_id follows the first query."""
    ws = await connect(web, user)
    query = {
        "message_id": "msg_same",
        "type": "agent_query",
        "data": {"agent": "test_stream", "query": "q", "options": {"chunks": 2}},
    }
    await ws.send_json(query)
    first = await receive_until(ws, "agent_response_complete")
    await ws.send_json(query)
    second = await receive_until(ws, "agent_response_complete")
    await ws.close()
    assert first[-1]["data"]["query_id"] == second[-1]["data"]["query_id"]


async def raw_socket(
    url: str, first_message: dict[str, Any]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a WebSocket by hand with a tiny receive buffer and send one message.

    aiohttp's client reads eagerly; a raw socket that is not read lets the
    server's writes actually back up, as with a slow client on a poor network.
    """
    parsed = URL(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (parsed.host, parsed.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {parsed.raw_path_qs} HTTP/1.1\r\nHost: {parsed.host}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    payload = orjson.dumps(first_message)
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    if len(payload) < 126:
        header = bytes([0x81, 0x80 | len(payload)])
    else:
        header = bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(payload))
    writer.write(header + mask)
    writer.write(masked)
    await writer.drain()
    return reader, writer


async def test_a_client_that_stops_reading_is_told_and_dropped(
    start_web: StartWeb, settings: Settings, user: User, worker: WorkerProcess
) -> None:
    """A socket that falls too far behind is closed with CLIENT_TOO_SLOW."""
    web = await start_web(dataclasses.replace(settings, ws_send_queue=8))
    reader, writer = await raw_socket(
        web.ws_url(user.token),
        {
            "type": "agent_query",
            "data": {
                "agent": "test_stream",
                "query": "q",
                "options": {"chunks": 400, "pad": 32_000},
            },
        },
    )
    await asyncio.sleep(3)  # read nothing while the server keeps sending
    async with asyncio.timeout(30):
        received = await reader.read(-1)  # until the server closes the connection
    writer.close()
    await web.close()
    assert b"CLIENT_TOO_SLOW" in received
    assert b"\x88\x06\x03\xf5slow" in received  # close frame: code 1013, "slow"


async def test_user_id_that_contradicts_the_token_is_refused(
    web: WebServer, user: User
) -> None:
    """?user_id= must name the token's own user; another id is refused with 401."""
    async with web.session.get(
        "/ws", params={"token": user.token, "user_id": "user_someone_else"}
    ) as response:
        body = await response.json()
    assert (response.status, body["error"]["code"]) == (401, "UNAUTHORIZED")
