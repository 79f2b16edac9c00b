"""The ``users`` table: who has signed in, with what role, and their preferences.

A user's row follows their access tokens: it is created the first time a token
of theirs is seen, and role, permissions and sensitivity level are refreshed
from each token. ``last_login`` is the issue time of the newest token seen, the
moment they last signed in (or refreshed their session).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from psycopg.types.json import Jsonb

from onevice.base.errors import AuthenticationError
from onevice.services.access import Viewer
from onevice.storage.db import Pool

DEFAULT_PREFERENCES: Final[Mapping[str, Any]] = {
    "theme": "system",
    "notifications": True,
    "default_agent": "sales_intelligence",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class UserRecord:
    """One row of ``users``, with preferences filled in from the defaults."""

    id: str
    org_id: str
    email: str | None
    role: str
    permissions: list[str]
    data_sensitivity_level: int
    preferences: dict[str, Any]
    created_at: dt.datetime
    last_login: dt.datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> UserRecord:
        return cls(
            id=row["id"],
            org_id=row["org_id"],
            email=row["email"],
            role=row["role"],
            permissions=list(row["permissions"]),
            data_sensitivity_level=row["data_sensitivity_level"],
            preferences={**DEFAULT_PREFERENCES, **row["preferences"]},
            created_at=row["created_at"],
            last_login=row["last_login"],
        )


_UPSERT = """
INSERT INTO users (id, org_id, email, role, permissions, data_sensitivity_level,
                   last_login)
VALUES (%(id)s, %(org)s, %(email)s, %(role)s, %(permissions)s, %(level)s,
        to_timestamp(%(issued_at)s))
ON CONFLICT (id) DO UPDATE SET
    email = coalesce(EXCLUDED.email, users.email),
    role = EXCLUDED.role,
    permissions = EXCLUDED.permissions,
    data_sensitivity_level = EXCLUDED.data_sensitivity_level,
    last_login = greatest(users.last_login, EXCLUDED.last_login),
    updated_at = now()
WHERE users.org_id = EXCLUDED.org_id
RETURNING *
"""


class UserStore:
    """Reads and writes ``users``, always as the viewer themselves."""

    def __init__(self, pool: Pool):
        self.pool = pool

    async def seen(self, viewer: Viewer, *, email: str | None = None) -> UserRecord:
        """The viewer's row, created or brought up to date from their token.

        ``email`` comes from a sign-in (the identity provider vouches for it).
        """
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                _UPSERT,
                {
                    "id": viewer.sub,
                    "org": viewer.org_id,
                    "email": email,
                    "role": viewer.role,
                    "permissions": Jsonb(list(viewer.permissions)),
                    "level": viewer.data_sensitivity_level,
                    "issued_at": viewer.issued_at,
                },
            )
            row = await cursor.fetchone()
        if row is None:
            # The id exists in another organisation: never mix the two.
            raise AuthenticationError("This user id belongs to another organisation")
        return UserRecord.from_row(row)

    async def set_preferences(
        self, viewer: Viewer, preferences: Mapping[str, Any]
    ) -> UserRecord:
        """Merge ``preferences`` into the viewer's (already validated)."""
        await self.seen(viewer)
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE users SET preferences = preferences || %s, updated_at = now()"
                " WHERE id = %s AND org_id = %s RETURNING *",
                (Jsonb(dict(preferences)), viewer.sub, viewer.org_id),
            )
            row = await cursor.fetchone()
        assert row is not None
        return UserRecord.from_row(row)
