"""docs/asyncapi.yaml is AsyncAPI 3.0, lists the messages the socket code has, and
real messages from a live socket fit its payload schemas.

The AsyncAPI 3.0.0 JSON Schema is vendored in ``tests/asyncapi/`` (see its
README), so the suite needs no Node.js tooling.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT7

from onevice.base.settings import Settings
from tests.fix_stack import MakeUser, StartWeb, User, WebServer, WorkerProcess
from tests.test_websocket import receive, receive_until
from web.load import LoadState, Reading
from web.messages import WS_CLIENT_TYPES

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"
ASYNCAPI_SCHEMA = Path(__file__).parent / "asyncapi" / "asyncapi-3.0.0.schema.json"
SOCKET_SOURCES = (ROOT / "web" / "sockets.py", ROOT / "web" / "messages.py")
BASE = "urn:onevice:asyncapi"

Message = dict[str, Any]


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text())
    return loaded


def resolve(pointer: str) -> Any:
    """The node a local ``#/…`` reference points to (KeyError if none)."""
    node: Any = document()
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def messages_of(action: str) -> dict[str, str]:
    """Message name (the ``type`` on the wire) → component, for one direction.

    ``receive`` operations hold what clients send; ``send`` operations and the
    replies of ``receive`` operations hold what the server sends.
    """
    found: dict[str, str] = {}
    for operation in document()["operations"].values():
        refs = (
            [m["$ref"] for m in operation["messages"]]
            if (operation["action"] == action)
            else []
        )
        if action == "send" and "reply" in operation:
            refs += [m["$ref"] for m in operation["reply"]["messages"]]
        for ref in refs:
            component = resolve(ref)["$ref"].rsplit("/", 1)[-1]
            found[resolve(f"#/components/messages/{component}")["name"]] = component
    return found


def validator(component: str) -> jsonschema.Draft7Validator:
    """A validator for the payload of a message component, refs resolved."""
    registry: Registry[Any] = Registry().with_resource(
        BASE, DRAFT7.create_resource(document())
    )
    schema = {"$ref": f"{BASE}#/components/messages/{component}/payload"}
    return jsonschema.Draft7Validator(
        schema, registry=registry, format_checker=jsonschema.FormatChecker()
    )


def problems(messages: list[Message], action: str) -> list[str]:
    """Why each message does not fit its payload schema; empty if all fit."""
    known = messages_of(action)
    found = []
    for message in messages:
        component = known.get(message.get("type", ""))
        if component is None:
            found.append(f"undocumented {message.get('type')!r}: {message}")
            continue
        found += [
            f"{message['type']} at {list(error.absolute_path)}: {error.message}"
            for error in validator(component).iter_errors(message)
        ]
    return found


def text_of(node: ast.expr | None) -> str | None:
    """The value of a string literal, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def types_in_code() -> tuple[set[str], set[str]]:
    """(types ``dispatch`` handles, types the server builds) read from the code.

    Handled: the literals ``kind`` is compared with in ``dispatch``. Built: the
    first argument of every ``ws_message(...)`` call and every ``"type": ...``
    literal of a dict, in the socket and message modules.
    """
    handled: set[str | None] = set()
    built: set[str | None] = set()
    for source in SOCKET_SOURCES:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.AsyncFunctionDef) and node.name == "dispatch":
                handled |= {
                    text_of(compare.comparators[0])
                    for compare in ast.walk(node)
                    if isinstance(compare, ast.Compare)
                    and isinstance(compare.left, ast.Name)
                    and compare.left.id == "kind"
                }
            elif isinstance(node, ast.Call) and (
                isinstance(node.func, ast.Name) and node.func.id == "ws_message"
            ):
                built.add(text_of(node.args[0]))
            elif isinstance(node, ast.Dict):
                built |= {
                    text_of(value)
                    for key, value in zip(node.keys, node.values, strict=True)
                    if text_of(key) == "type"
                }
    return {k for k in handled if k}, {k for k in built if k}


def test_document_is_asyncapi_3_0() -> None:
    """The document validates against the official AsyncAPI 3.0.0 JSON Schema."""
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    errors = [
        f"{list(error.absolute_path)}: {error.message}"
        for error in jsonschema.Draft7Validator(schema).iter_errors(document())
    ]
    assert (document()["asyncapi"], errors) == ("3.0.0", [])


def test_every_reference_resolves() -> None:
    """Every ``$ref`` in the document points to something in it."""
    broken = []
    for ref in set(references(document())):
        try:
            resolve(ref)
        except KeyError:
            broken.append(ref)
    assert broken == []


def test_client_messages_are_the_ones_the_socket_handles() -> None:
    """The client messages documented are exactly those ``dispatch`` handles."""
    handled, _ = types_in_code()
    assert set(messages_of("receive")) == handled == set(WS_CLIENT_TYPES)


def test_server_messages_are_the_ones_the_socket_sends() -> None:
    """The server messages documented are exactly the types the code builds."""
    _, sent = types_in_code()
    assert set(messages_of("send")) == sent


async def test_live_messages_fit_their_schemas(
    web: WebServer, make_user: MakeUser, worker: WorkerProcess
) -> None:
    """Messages of a real session, both ways, validate against their payloads."""
    user = make_user("Leadership")
    ws = await web.session.ws_connect(web.ws_url(user.token))
    sent: list[Message] = []

    async def say(message: Message) -> None:
        sent.append(message)
        await ws.send_json(message)

    received = [await receive(ws)]
    await say({"type": "connection", "data": {"client_version": "1.0.0"}})
    received.append(await receive(ws))
    await say({"type": "ping", "message_id": "m-ping", "timestamp": "now"})
    received.append(await receive(ws))
    received += await ask_and_follow(ws, say, "test_stream", options={"chunks": 3})
    query_id = received[-1]["data"]["query_id"]
    await say({"type": "resume", "data": {"query_id": query_id, "after_chunk": 1}})
    received += await receive_until(ws, "agent_response_complete", "error")
    received += await ask_and_follow(ws, say, "case_study", filters={"genre": "Pop"})
    received += await ask_and_follow(ws, say, "test_fail")
    received += await cancelled_messages(ws, say)
    await ws.send_str("{not json")
    received.append(await receive(ws))
    await ws.close()

    kinds = {message["type"] for message in received}
    assert kinds >= {"connection", "pong", "agent_typing", "agent_response_chunk"}
    assert kinds >= {"agent_response_complete", "error", "cancel"}
    assert problems(sent, "receive") + problems(received, "send") == []


async def ask_and_follow(
    ws: aiohttp.ClientWebSocketResponse, say: Any, agent: str, **sections: Any
) -> list[Message]:
    """Ask ``agent`` and read its messages through the final one."""
    data = {"agent": agent, "query": "contract check", **sections}
    await say({"type": "agent_query", "message_id": f"m-{agent}", "data": data})
    return await receive_until(ws, "agent_response_complete", "error", timeout=30)


async def cancelled_messages(
    ws: aiohttp.ClientWebSocketResponse, say: Any
) -> list[Message]:
    """A long query, cancelled: its messages through the cancel's final error."""
    options = {"chunks": 100, "delay_ms": 100}
    data = {"agent": "test_stream", "query": "long", "options": options}
    await say({"type": "agent_query", "message_id": "m-long", "data": data})
    seen = await receive_until(ws, "agent_response_chunk")
    query_id = seen[-1]["data"]["query_id"]
    cancel = {"query_id": query_id}
    await say({"type": "cancel", "message_id": "m-cancel", "data": cancel})
    return seen + await receive_until(ws, "error", timeout=30)


async def test_going_away_message_fits_its_schema(
    start_web: StartWeb, user: User
) -> None:
    """The ``connection_status`` a restarting server sends validates."""
    server = await start_web()
    ws = await server.session.ws_connect(server.ws_url(user.token))
    received = [await receive(ws)]
    await server.server.close()
    received.append(await receive(ws))
    await server.session.close()
    assert received[-1]["type"] == "connection_status"
    assert problems(received, "send") == []


def test_load_messages_fit_their_schema() -> None:
    """``degraded`` and ``healthy`` connection statuses, and their pong, validate."""
    state = LoadState(Settings(degraded_wait_seconds=1.0))
    state.update(Reading(loop_lag_seconds=0.0, oldest_wait_seconds=3.0))
    degraded = state.message()
    pong = {
        "type": "pong",
        "timestamp": degraded["timestamp"],
        "server_status": "degraded",
    }
    state.update(Reading(loop_lag_seconds=0.0, oldest_wait_seconds=0.0))
    healthy = state.message()
    assert degraded["data"]["status"] == "degraded"
    assert healthy["data"]["status"] == "healthy"
    assert problems([degraded, pong, healthy], "send") == []
