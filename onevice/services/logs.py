"""structlog set-up: JSON in production, readable in a terminal, never a secret.

Context such as ``request_id`` and ``query_id`` travels in contextvars
(``structlog.contextvars.bind_contextvars``). The ``redact`` processor blanks any
key that names a credential, so a token that slips into an event is not written.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

from onevice.base.settings import Settings

_SECRET_KEYS = re.compile(
    r"(token|authorization|password|secret|api_key|apikey|cookie)", re.IGNORECASE
)
_TOKEN_IN_TEXT = re.compile(r"(token=)[^&\s]+", re.IGNORECASE)


def redact(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Blank values whose key names a credential and ``token=`` in free text."""
    for key, value in list(event.items()):
        if _SECRET_KEYS.search(key):
            event[key] = "[redacted]"
        elif isinstance(value, str) and "token=" in value.lower():
            event[key] = _TOKEN_IN_TEXT.sub(r"\1[redacted]", value)
    return event


def _orjson_dumps(value: Any, **_kw: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def configure(settings: Settings) -> None:
    """Configure structlog and the standard library root logger once per process."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any
    if settings.log_format == "json":
        renderer = structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    level = logging.getLevelNamesMapping().get(settings.log_level, logging.INFO)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )

    # Libraries log through the standard library; route them through the same
    # processors so their lines look like ours and get redacted too.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(level, logging.INFO))
    # aiohttp's access log prints the raw request line, query string included,
    # which would leak ``?token=`` on WebSocket upgrades. The web tier writes its
    # own request_finished event instead.
    logging.getLogger("aiohttp.access").disabled = True
    # Celery logs every task received and succeeded; the runner's own
    # query_started / query_<outcome> lines say the same with the query id,
    # so Celery's per-task lines are kept for warnings and errors only.
    for name in ("celery.worker.strategy", "celery.app.trace"):
        logging.getLogger(name).setLevel(logging.WARNING)
