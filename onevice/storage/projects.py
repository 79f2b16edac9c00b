"""Projects as a viewer may see them: every read applies the access policy.

``ProjectStore.get`` answers with budget, team, timeline and documents already
filtered for the viewer (spec §4.3), so nothing downstream (a handler, an
agent, a model) ever holds what the viewer may not see. Other organisations'
projects are not found, like missing ones.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Final

from psycopg import sql
from psycopg.types.json import Jsonb

from onevice.base.errors import NotFound
from onevice.services.access import Viewer
from onevice.services.policy import Budget, budget_tier, view_budget, view_document
from onevice.storage.db import Pool

ACTIVE_STATUSES: Final = (
    "Pitching",
    "Pre-Production",
    "In Production",
    "Post-Production",
)
COMPLETED_STATUSES: Final = ("Completed",)
PROJECT_TYPES: Final = ("Music Video", "Commercial")
#: Music genres a music video is filed under (in its timeline's ``genre``).
GENRES: Final = ("Hip-hop", "R&B", "Pop", "Rock", "Electronic", "Country")
#: Sortable columns: the list can be ordered by these and nothing else.
SORTABLE: Final = ("created_at", "name", "status", "type", "client")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProjectListing:
    """Which page of which projects, in what order (already validated)."""

    page: int = 1
    limit: int = 20
    statuses: tuple[str, ...] | None = ACTIVE_STATUSES
    project_type: str | None = None
    sort: str = "created_at"
    descending: bool = True


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewProject:
    """A project to store (for importers, generators and tests)."""

    id: str
    org_id: str
    name: str
    type: str
    status: str
    budget_amount: int
    budget_approved: bool = False
    budget_lines: Mapping[str, int] = dataclasses.field(default_factory=dict)
    client: str | None = None
    union_status: str | None = None
    timeline: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: (position, name, user id or None)
    team: Sequence[tuple[str, str, str | None]] = ()
    #: dicts with id, category, title, summary, content
    documents: Sequence[Mapping[str, str]] = ()
    #: "company", or what generated the record (synthetic data says so)
    source: str = "company"
    #: The artist of a music video
    artist: str | None = None


class ProjectStore:
    """Reads projects for a viewer; writes them for the data tools."""

    def __init__(self, pool: Pool):
        self.pool = pool

    async def get(self, viewer: Viewer, project_id: str) -> dict[str, Any]:
        """The project as ``viewer`` may see it (spec §2.4 detail shape)."""
        if "\x00" in project_id:  # PostgreSQL text cannot hold it, so no id has it
            raise NotFound("Project not found", details={"project_id": project_id})
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT * FROM projects WHERE id = %s AND org_id = %s",
                (project_id, viewer.org_id),
            )
            project = await cursor.fetchone()
            if project is None:
                raise NotFound("Project not found", details={"project_id": project_id})
            cursor = await conn.execute(
                "SELECT position, name, user_id FROM project_members"
                " WHERE project_id = %s ORDER BY position, name",
                (project_id,),
            )
            team = await cursor.fetchall()
            cursor = await conn.execute(
                "SELECT id, project_id, category, title, summary, content"
                " FROM documents WHERE project_id = %s ORDER BY id",
                (project_id,),
            )
            documents = await cursor.fetchall()
        assigned = any(member["user_id"] == viewer.sub for member in team)
        budget = Budget(
            project["budget_amount"],
            project["budget_approved"],
            project["budget_lines"],
        )
        visible = [view_document(viewer, doc, assigned=assigned) for doc in documents]
        return {
            "id": project["id"],
            "name": project["name"],
            "type": project["type"],
            "status": project["status"],
            "client": project["client"],
            "artist": project["artist"],
            "budget": view_budget(viewer, budget, assigned=assigned),
            "team": {member["position"]: member["name"] for member in team},
            "timeline": project["timeline"],
            "documents": [doc for doc in visible if doc is not None],
            "union_status": project["union_status"],
            "source": project["source"],
        }

    async def list(
        self, viewer: Viewer, listing: ProjectListing
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the viewer's organisation's projects, and how many match.

        List items show the budget tier only, whatever the role: amounts are
        for a project's detail, where the access policy decides.
        """
        assert listing.sort in SORTABLE
        where = ["p.org_id = %(org)s"]
        params: dict[str, Any] = {"org": viewer.org_id}
        if listing.statuses is not None:
            where.append("p.status = ANY(%(statuses)s)")
            params["statuses"] = list(listing.statuses)
        if listing.project_type is not None:
            where.append("p.type = %(type)s")
            params["type"] = listing.project_type
        direction = "DESC" if listing.descending else "ASC"
        params |= {"limit": listing.limit, "offset": (listing.page - 1) * listing.limit}
        query = sql.SQL(
            "SELECT p.id, p.name, p.type, p.status, p.client, p.budget_amount,"
            " p.created_at, count(*) OVER () AS total,"
            " (SELECT name FROM project_members m WHERE m.project_id = p.id"
            "   AND m.position = 'director' ORDER BY name LIMIT 1) AS director,"
            " (SELECT name FROM project_members m WHERE m.project_id = p.id"
            "   AND m.position = 'creative_director' ORDER BY name LIMIT 1)"
            "   AS creative_director"
            " FROM projects p WHERE {where}"
            " ORDER BY {column} {direction}, p.id {direction}"
            " LIMIT %(limit)s OFFSET %(offset)s"
        ).format(
            where=sql.SQL(" AND ").join(sql.SQL(clause) for clause in where),
            column=sql.Identifier("p", listing.sort),
            direction=sql.SQL(direction),
        )
        async with self.pool.connection() as conn:
            cursor = await conn.execute(query, params)
            rows = await cursor.fetchall()
            if not rows and listing.page > 1:
                cursor = await conn.execute(
                    sql.SQL("SELECT count(*) AS total FROM projects p WHERE {}").format(
                        sql.SQL(" AND ").join(sql.SQL(clause) for clause in where)
                    ),
                    params,
                )
                counted = await cursor.fetchone()
                return [], int(counted["total"]) if counted else 0
        total = int(rows[0]["total"]) if rows else 0
        return [_list_item(row) for row in rows], total

    async def catalog(self, viewer: Viewer) -> builtins.list[dict[str, Any]]:
        """Every project of the viewer's organisation, filtered, without documents.

        For the agents, which score and compare projects: each item has the
        detail shape of ``get`` minus documents, the budget as the viewer may
        see it, and the ``genre`` and ``year`` read from the timeline.
        """
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT * FROM projects WHERE org_id = %s ORDER BY id",
                (viewer.org_id,),
            )
            projects = await cursor.fetchall()
            cursor = await conn.execute(
                "SELECT m.project_id, m.position, m.name, m.user_id"
                " FROM project_members m JOIN projects p ON p.id = m.project_id"
                " WHERE p.org_id = %s ORDER BY m.position, m.name",
                (viewer.org_id,),
            )
            members = await cursor.fetchall()
        teams: dict[str, list[Mapping[str, Any]]] = {}
        for member in members:
            teams.setdefault(member["project_id"], []).append(member)
        return [_catalog_item(viewer, p, teams.get(p["id"], [])) for p in projects]

    async def count(self, org_id: str) -> int:
        """How many projects the organisation has."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT count(*) AS n FROM projects WHERE org_id = %s", (org_id,)
            )
            row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def delete_all(self, org_id: str) -> None:
        """Remove the organisation's projects, teams and documents."""
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM projects WHERE org_id = %s", (org_id,))

    async def create(self, project: NewProject) -> None:
        """Store a project with its team and documents, in one transaction."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO projects (id, org_id, name, type, status, client,"
                " union_status, budget_amount, budget_approved, budget_lines, timeline,"
                " source, artist)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    project.id,
                    project.org_id,
                    project.name,
                    project.type,
                    project.status,
                    project.client,
                    project.union_status,
                    project.budget_amount,
                    project.budget_approved,
                    Jsonb(dict(project.budget_lines)),
                    Jsonb(dict(project.timeline)),
                    project.source,
                    project.artist,
                ),
            )
            for position, name, user_id in project.team:
                await conn.execute(
                    "INSERT INTO project_members (project_id, position, name, user_id)"
                    " VALUES (%s, %s, %s, %s)",
                    (project.id, position, name, user_id),
                )
            for document in project.documents:
                await conn.execute(
                    "INSERT INTO documents (id, project_id, category, title, summary,"
                    " content) VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        document["id"],
                        project.id,
                        document["category"],
                        document["title"],
                        document.get("summary", ""),
                        document.get("content", ""),
                    ),
                )


def _catalog_item(
    viewer: Viewer, project: Mapping[str, Any], team: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    assigned = any(member["user_id"] == viewer.sub for member in team)
    budget = Budget(
        project["budget_amount"], project["budget_approved"], project["budget_lines"]
    )
    timeline = project["timeline"] or {}
    pitched = str(timeline.get("pitched") or "")
    return {
        "id": project["id"],
        "name": project["name"],
        "type": project["type"],
        "status": project["status"],
        "client": project["client"],
        "artist": project["artist"],
        "genre": timeline.get("genre"),
        "year": int(pitched[:4]) if pitched[:4].isdigit() else None,
        "budget": view_budget(viewer, budget, assigned=assigned),
        "team": {member["position"]: member["name"] for member in team},
        "timeline": timeline,
        "union_status": project["union_status"],
        "source": project["source"],
    }


def _list_item(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "type": row["type"],
        "status": row["status"],
        "budget_tier": budget_tier(row["budget_amount"]),
        "director": row["director"],
        "creative_director": row["creative_director"],
        "client": row["client"],
        "created_at": row["created_at"].isoformat(),
    }
