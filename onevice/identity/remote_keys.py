"""Public keys of another issuer (Clerk), fetched from its JWKS URL and cached.

The keys are fetched on first use and again when they are older than
``max_age`` or a token names a key id we do not hold (the issuer rotated). An
unknown key id triggers at most one fetch per ``min_interval``, so a flood of
tokens with made-up key ids cannot turn into a flood of requests to the issuer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Final
from urllib.parse import urlsplit

import aiohttp
import structlog
from joserfc.jwk import KeySet

from onevice.base.errors import DependencyUnavailable
from onevice.base.settings import SettingsError

log = structlog.get_logger(__name__)

_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})
_FETCH_TIMEOUT: Final = 5.0


def require_https(url: str, name: str) -> None:
    """Refuse a key URL that is not HTTPS (loopback, for tests and dev, excepted)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and parts.hostname not in _LOOPBACK:
        raise SettingsError(f"{name} must be an https:// URL, got {url!r}")


class RemoteKeySet:
    """A JWKS document at ``url``, cached."""

    def __init__(self, url: str, *, max_age: float = 3600, min_interval: float = 10):
        require_https(url, "the JWKS URL")
        self.url = url
        self.max_age = max_age
        self.min_interval = min_interval
        self.fetches = 0
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def for_kid(self, kid: str) -> KeySet:
        """Keys that should hold ``kid``, fetching them again if sensible."""
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            known = self._keys is not None and _has(self._keys, kid)
            stale = self._keys is None or age > self.max_age
            if stale or (not known and age > self.min_interval):
                await self._fetch()
            assert self._keys is not None
            return self._keys

    async def _fetch(self) -> None:
        self.fetches += 1
        try:
            timeout = aiohttp.ClientTimeout(total=_FETCH_TIMEOUT)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(self.url) as response,
            ):
                response.raise_for_status()
                document = await response.json(content_type=None)
            self._keys = KeySet.import_key_set(document)
            self._fetched_at = time.monotonic()
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
            log.warning("jwks_fetch_failed", url=self.url, error=type(exc).__name__)
            if self._keys is None:
                raise DependencyUnavailable(
                    "The identity provider's keys cannot be fetched",
                    details={"dependency": "clerk"},
                ) from exc
            # Keep the keys we have; try again after min_interval.
            self._fetched_at = time.monotonic() - self.max_age + self.min_interval


def _has(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)
