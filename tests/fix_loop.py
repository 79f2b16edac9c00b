"""Fail any test during which something blocked the event loop.

asyncio's debug mode reports every callback that runs longer than
``slow_callback_duration``; this plugin turns such a report into a failure of the
test it happened in. The threshold is a full second: a call that waits on the
network or the disk while holding the loop exceeds it, while a garbage-collection
pause on a busy two-core machine does not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

BLOCKING_THRESHOLD_SECONDS = 1.0


class _SlowCallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reports: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing") and " took " in message:
            self.reports.append(message)


@pytest.fixture(autouse=True)
async def fail_on_blocking() -> AsyncIterator[None]:
    """Watch the loop while the test runs; fail if a callback blocked it."""
    loop = asyncio.get_running_loop()
    handler = _SlowCallbacks()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    loop.set_debug(True)
    loop.slow_callback_duration = BLOCKING_THRESHOLD_SECONDS
    try:
        yield
    finally:
        loop.set_debug(False)
        logger.removeHandler(handler)
    if handler.reports:
        pytest.fail("the event loop was blocked:\n" + "\n".join(handler.reports))
