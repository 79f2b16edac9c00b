"""Failures of a backing service, as opposed to failures of our own code.

These mean "PostgreSQL or Redis could not be reached just now": the web tier
answers 503, and the worker tier retries the task instead of failing the query.
"""

from __future__ import annotations

from typing import Final

import psycopg
from psycopg_pool import PoolTimeout
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

TRANSIENT_ERRORS: Final = (
    psycopg.OperationalError,
    PoolTimeout,
    RedisConnectionError,
    RedisTimeoutError,
)
