"""The ``talent`` table: people the company hires, and their bookings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from psycopg.types.json import Jsonb

from onevice.storage.db import Pool


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewTalent:
    """A person to store, with the date ranges they are booked."""

    id: str
    org_id: str
    name: str
    role: str
    union_membership: str | None
    specializations: tuple[str, ...]
    day_rate: int
    budget_min: int | None = None
    budget_max: int | None = None
    bookings: Sequence[tuple[dt.date, dt.date]] = ()
    source: str = "company"


class TalentStore:
    """Writes talent for the data tools; counts them."""

    def __init__(self, pool: Pool):
        self.pool = pool

    async def create(self, person: NewTalent) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO talent (id, org_id, name, role, union_membership,"
                " specializations, day_rate, budget_min, budget_max, source)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    person.id,
                    person.org_id,
                    person.name,
                    person.role,
                    person.union_membership,
                    Jsonb(list(person.specializations)),
                    person.day_rate,
                    person.budget_min,
                    person.budget_max,
                    person.source,
                ),
            )
            for starts, ends in person.bookings:
                await conn.execute(
                    "INSERT INTO talent_bookings (talent_id, starts, ends)"
                    " VALUES (%s, %s, %s)",
                    (person.id, starts, ends),
                )

    async def count(self, org_id: str) -> int:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT count(*) AS n FROM talent WHERE org_id = %s", (org_id,)
            )
            row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def delete_all(self, org_id: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM talent WHERE org_id = %s", (org_id,))
