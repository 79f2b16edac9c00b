"""Sessions: the access and refresh tokens a sign-in yields, and refreshing them."""

from __future__ import annotations

from typing import Any

from onevice.base.settings import Settings
from onevice.identity.tokens import TokenIssuer
from onevice.services.access import Viewer
from onevice.storage.db import Pool
from onevice.storage.refresh_tokens import RefreshTokenStore


class Sessions:
    """Starts sessions and rotates their refresh tokens."""

    def __init__(
        self, issuer: TokenIssuer, refresh_tokens: RefreshTokenStore, ttl: int
    ):
        self.issuer = issuer
        self.refresh_tokens = refresh_tokens
        self.ttl = ttl

    @classmethod
    def for_settings(cls, settings: Settings, pool: Pool) -> Sessions:
        return cls(
            TokenIssuer.from_settings(settings),
            RefreshTokenStore(pool, ttl_seconds=settings.refresh_token_ttl_seconds),
            settings.access_token_ttl_seconds,
        )

    async def start(self, viewer: Viewer) -> dict[str, Any]:
        """Tokens for a user who has just signed in: a new refresh token family."""
        refresh_token = await self.refresh_tokens.issue(viewer)
        return self._tokens(viewer, refresh_token)

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """Spend ``refresh_token`` for a new access token and the next refresh token."""
        viewer, next_token = await self.refresh_tokens.rotate(refresh_token)
        return self._tokens(viewer, next_token)

    def _tokens(self, viewer: Viewer, refresh_token: str) -> dict[str, Any]:
        access_token = self.issuer.mint(
            role=viewer.role, sub=viewer.sub, org_id=viewer.org_id, ttl=self.ttl
        )
        return {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": self.ttl,
        }
