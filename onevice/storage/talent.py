"""The ``talent`` table: people the company hires, and their bookings.

Reads take the viewer and return only the viewer's organisation: another
organisation's people are invisible, as if they did not exist. Day rates and
directors' budget ranges are a person's asking price, not a project budget, so
no sensitivity category of spec §4.3 covers them and every role sees them.
The graph side (who worked on which project) is read through
:class:`TalentGraph`, which applies the same organisation rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from psycopg.types.json import Jsonb

from onevice.services.access import Viewer
from onevice.storage.db import Pool
from onevice.storage.graph.port import Graph

#: The roles on the roster: the closed set a search by role is checked against.
ROLES: Final = (
    "Director",
    "Director of Photography",
    "Editor",
    "Gaffer",
    "Performer",
    "Producer",
    "Creative Director",
)
#: What people specialise in: the closed set of ``specializations``.
SPECIALIZATIONS: Final = (
    "Music Video",
    "Commercial",
    "Narrative",
    "Fashion",
    "Automotive",
    "Sports",
)
#: The unions people belong to (``union_membership``; null for none).
UNIONS: Final = ("DGA", "IATSE", "SAG-AFTRA")


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


@dataclasses.dataclass(frozen=True, kw_only=True)
class Talent:
    """A person as a viewer of their organisation reads them, with bookings."""

    id: str
    name: str
    role: str
    #: "DGA", "IATSE", "SAG-AFTRA", or None for someone not in a union
    union_membership: str | None
    specializations: tuple[str, ...]
    day_rate: int
    #: The budgets a director takes on, in whole dollars; None for other roles.
    budget_min: int | None
    budget_max: int | None
    #: (first day, last day) of each booking, both inclusive, in order.
    bookings: tuple[tuple[dt.date, dt.date], ...]


class TalentStore:
    """Reads talent for a viewer; writes and counts it for the data tools."""

    def __init__(self, pool: Pool):
        self.pool = pool

    async def people(self, viewer: Viewer, *, role: str | None = None) -> list[Talent]:
        """The people of the viewer's organisation (of ``role`` if given), by id."""
        params = {"org": viewer.org_id, "role": role}
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT * FROM talent t WHERE t.org_id = %(org)s"
                " AND (%(role)s::text IS NULL OR t.role = %(role)s) ORDER BY t.id",
                params,
            )
            rows = await cursor.fetchall()
            cursor = await conn.execute(
                "SELECT b.talent_id, b.starts, b.ends FROM talent_bookings b"
                " JOIN talent t ON t.id = b.talent_id WHERE t.org_id = %(org)s"
                " AND (%(role)s::text IS NULL OR t.role = %(role)s)"
                " ORDER BY b.talent_id, b.starts",
                params,
            )
            booked = await cursor.fetchall()
        bookings: dict[str, list[tuple[dt.date, dt.date]]] = {}
        for booking in booked:
            span = (booking["starts"], booking["ends"])
            bookings.setdefault(booking["talent_id"], []).append(span)
        return [_talent(row, bookings.get(row["id"], [])) for row in rows]

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


class TalentGraph:
    """The company's people in the knowledge graph: the projects they worked on."""

    def __init__(self, graph: Graph):
        self.graph = graph

    async def work(
        self, viewer: Viewer, talent_ids: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """Each person's projects (``WORKED_ON``), keyed by talent id.

        A project item has id, name, type, status, budget_tier, position and
        client. Only the viewer's organisation's people and projects are read;
        project nodes carry the budget tier and never an amount.
        """
        rows = await self.graph.run(
            "MATCH (t:Talent)-[w:WORKED_ON]->(p:Project)"
            " WHERE t.id IN $ids AND t.org_id = $org AND p.org_id = $org"
            " OPTIONAL MATCH (p)-[:FOR_CLIENT]->(c:Client)"
            " RETURN t.id AS talent_id, p.id AS id, p.name AS name, p.type AS type,"
            " p.status AS status, p.budget_tier AS budget_tier,"
            " w.position AS position, c.name AS client"
            " ORDER BY talent_id, id, position",
            {"ids": list(talent_ids), "org": viewer.org_id},
        )
        work: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            talent_id = row.pop("talent_id")
            work.setdefault(talent_id, []).append(row)
        return work


def _talent(
    row: Mapping[str, Any], bookings: Sequence[tuple[dt.date, dt.date]]
) -> Talent:
    return Talent(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        union_membership=row["union_membership"],
        specializations=tuple(row["specializations"]),
        day_rate=row["day_rate"],
        budget_min=row["budget_min"],
        budget_max=row["budget_max"],
        bookings=tuple(bookings),
    )
