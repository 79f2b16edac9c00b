"""How errors and query events look on the wire (spec §3 and §5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import orjson

from onevice.base.errors import ValidationError
from onevice.services.bus import StreamEvent

WS_CLIENT_TYPES = ("connection", "agent_query", "ping", "resume", "cancel")


def nul_at(value: Any, path: str = "") -> tuple[str, str] | None:
    """(field path, offending text) of a NUL character in parsed JSON, if any.

    PostgreSQL's text and jsonb cannot hold U+0000, so input carrying one is
    refused up front rather than failing when it is stored.
    """
    if isinstance(value, str):
        return (path or "body", value) if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return inner, str(key)
            found = nul_at(item, inner)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_at(item, f"{path}[{index}]")
            if found:
                return found
    return None


def reject_nul(value: Any) -> None:
    """Raise the validation error for a NUL character anywhere in ``value``."""
    found = nul_at(value)
    if found is not None:
        field, text = found
        raise ValidationError.field(
            field, "Must not contain the NUL character", provided=text
        )


def now_iso() -> str:
    return (
        dt.datetime.now(dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def error_body(
    code: str, message: str, details: Mapping[str, Any], request_id: str
) -> dict[str, Any]:
    """The spec §5.2 error body."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": dict(details),
            "timestamp": now_iso(),
            "request_id": request_id,
        }
    }


def ws_message(
    kind: str,
    data: Mapping[str, Any],
    *,
    message_id: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """A server → client WebSocket message (spec §3.2)."""
    message: dict[str, Any] = {
        "type": kind,
        "timestamp": now_iso(),
        "data": dict(data),
    }
    if message_id is not None:
        message["message_id"] = message_id
    if status is not None:
        message["status"] = status
    return message


def ws_error(
    code: str,
    message: str,
    details: Mapping[str, Any],
    request_id: str,
    *,
    message_id: str | None = None,
    query_id: str | None = None,
) -> dict[str, Any]:
    """A WebSocket ``error`` with both the spec §3.3 and the §5 field names."""
    data: dict[str, Any] = {
        "error_code": code,
        "code": code,
        "message": message,
        "details": dict(details),
        "timestamp": now_iso(),
        "request_id": request_id,
    }
    if "retry_after" in details:
        data["retry_after"] = details["retry_after"]
    if query_id is not None:
        data["query_id"] = query_id
    return ws_message("error", data, message_id=message_id)


def render_event(
    event: StreamEvent, query_id: str, request_id: str, message_id: str | None
) -> dict[str, Any]:
    """The WebSocket message (and SSE payload) of one stream event.

    The timestamp is the one the worker gave the event, so a replayed message
    says when it happened, not when it was sent again.
    """
    message = _render(event, query_id, request_id, message_id)
    if "ts" in event.data:
        message["timestamp"] = _zulu(str(event.data["ts"]))
    return message


def _zulu(iso: str) -> str:
    return iso.replace("+00:00", "Z")


def _render(
    event: StreamEvent, query_id: str, request_id: str, message_id: str | None
) -> dict[str, Any]:
    data = event.data
    if event.kind == "chunk":
        return ws_message(
            "agent_response_chunk",
            {
                "agent": data.get("agent"),
                "query_id": query_id,
                "chunk_index": event.chunk_index,
                "content": data.get("content", ""),
                "metadata": data.get("metadata", {}),
            },
            message_id=message_id,
            status="streaming",
        )
    if event.kind == "typing":
        typing = {
            "agent": data.get("agent"),
            "query_id": query_id,
            "status": "processing",
            "stage": data.get("stage"),
        }
        if "estimated_completion" in data:
            typing["estimated_completion"] = data["estimated_completion"]
        return ws_message("agent_typing", typing, message_id=message_id)
    if event.kind == "restarted":
        return ws_message(
            "agent_typing",
            {
                "query_id": query_id,
                "status": "restarted",
                "stage": "restarted",
                "attempt": data.get("attempt"),
                "discard_through_chunk": data.get("discard_through_chunk", 0),
            },
            message_id=message_id,
        )
    if event.kind == "complete":
        return ws_message(
            "agent_response_complete",
            {
                "query_id": query_id,
                "agent": data.get("agent"),
                "total_chunks": data.get("total_chunks", event.chunk_index),
                "final_confidence_score": data.get("confidence_score"),
                "processing_time_ms": data.get("processing_time_ms"),
                "sources_used": data.get("data_sources", []),
                "result": data.get("result", {}),
            },
            message_id=message_id,
            status="complete",
        )
    return ws_error(
        str(data.get("code", "QUERY_FAILED")),
        str(data.get("message", "The query failed")),
        data.get("details") or {},
        request_id,
        message_id=message_id,
        query_id=query_id,
    )


def sse_frame(event: StreamEvent, message: Mapping[str, Any]) -> bytes:
    """One Server-Sent Event; a chunk's id is its chunk_index."""
    event_id = str(event.chunk_index) if event.kind == "chunk" else str(event.id)
    payload = orjson.dumps(message).decode()
    return f"id: {event_id}\nevent: {message['type']}\ndata: {payload}\n\n".encode()
