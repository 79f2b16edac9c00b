"""Refresh tokens: opaque, stored hashed, single use, rotated on every refresh.

A sign-in starts a *family*. Refreshing spends the presented token and issues
the next one of the same family. A spent token that comes back can only be a
copy (stolen, or replayed by a confused client), so the whole family is revoked:
the thief and the owner both have to sign in again, and the owner notices.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Final

from psycopg.types.json import Jsonb

from onevice.base.errors import AuthenticationError
from onevice.services.access import Viewer
from onevice.storage.db import Pool

TOKEN_PREFIX: Final = "rt_"  # noqa: S105 (a label, not a secret)


def token_hash(token: str) -> str:
    """What is stored for ``token`` (a SHA-256; the token has 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshTokenStore:
    """Issues, rotates and revokes refresh tokens."""

    def __init__(self, pool: Pool, *, ttl_seconds: int):
        self.pool = pool
        self.ttl_seconds = ttl_seconds

    async def issue(self, viewer: Viewer, *, family_id: str | None = None) -> str:
        """A new refresh token for ``viewer``, starting a family unless given one."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO refresh_tokens (token_hash, family_id, user_id, org_id,"
                " viewer, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s))",
                (
                    token_hash(token),
                    family_id or f"fam_{uuid.uuid4().hex}",
                    viewer.sub,
                    viewer.org_id,
                    Jsonb(viewer.to_json()),
                    self.ttl_seconds,
                ),
            )
        return token

    async def rotate(self, token: str) -> tuple[Viewer, str]:
        """Spend ``token``: the viewer it stands for and the next token.

        Unknown, expired and revoked tokens are refused; a spent one is refused
        and revokes its family.
        """
        reused = False
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "SELECT *, expires_at <= now() AS expired FROM refresh_tokens"
                " WHERE token_hash = %s FOR UPDATE",
                (token_hash(token),),
            )
            row = await cursor.fetchone()
            if row is None or row["revoked_at"] is not None or row["expired"]:
                raise AuthenticationError("Refresh token is invalid or expired")
            if row["spent_at"] is not None:
                await conn.execute(
                    "UPDATE refresh_tokens SET revoked_at = now()"
                    " WHERE family_id = %s AND revoked_at IS NULL",
                    (row["family_id"],),
                )
                reused = True
            else:
                await conn.execute(
                    "UPDATE refresh_tokens SET spent_at = now() WHERE token_hash = %s",
                    (row["token_hash"],),
                )
        if reused:  # raised after the revocation is committed
            raise AuthenticationError(
                "Refresh token was already used; the session is revoked, sign in again"
            )
        viewer = Viewer.from_json(row["viewer"])
        return viewer, await self.issue(viewer, family_id=row["family_id"])
