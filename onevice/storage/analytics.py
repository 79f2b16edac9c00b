"""The dashboard's figures (spec §2.5), counted in PostgreSQL for a viewer.

What a viewer is shown, and why:

- The project overview counts the projects of the viewer's organisation for
  every role: they are the projects ``GET /projects`` lists to anyone there.
  "Active" is what that list calls active (``ACTIVE_STATUSES``: Pitching to
  Post-Production). "Completed this month" is a completed project whose
  ``timeline.delivery`` date falls in the current calendar month (UTC): the
  projects table records no completion time, and delivery is when the work
  was handed over.
- The pipeline value is the sum of the budgets of the active projects. It is
  read only for a viewer with full access to budgets on every project (spec
  §4.3 ``1_budgets``: Leadership); for anyone else it is None, never a figure.
- Usage and performance figures of the whole organisation (how much each
  colleague asks, how satisfied they are) are internal information: a viewer
  with full access to internal strategy everywhere (spec §4.3
  ``3_internal_strategy``: Leadership) gets the organisation's, anyone else
  the figures of their own queries and ratings.

Queries count by when they were submitted, ratings by when they were given,
over the last ``days`` days up to the database's clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Literal

from onevice.services.access import Viewer
from onevice.services.policy import access
from onevice.storage.db import Pool
from onevice.storage.projects import ACTIVE_STATUSES, COMPLETED_STATUSES
from onevice.storage.queries import FINAL_STATUSES

#: The windows the dashboard covers, by the name a client asks for.
TIMEFRAMES: Final[Mapping[str, int]] = {"7d": 7, "30d": 30, "90d": 90}

Scope = Literal["organization", "own"]

_OVERVIEW = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE status = ANY(%(active)s)) AS active,
       count(*) FILTER (
           WHERE status = ANY(%(completed)s)
             AND left(timeline->>'delivery', 7)
                 = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')
       ) AS completed_this_month,
       coalesce(sum(budget_amount) FILTER (WHERE status = ANY(%(active)s)), 0)
           AS pipeline
FROM projects WHERE org_id = %(org)s
"""

# ``%(sub)s`` is NULL for the organisation's figures, a user for their own.
_USAGE = """
SELECT agent, count(*) AS queries FROM queries
WHERE org_id = %(org)s AND (%(sub)s::text IS NULL OR owner_sub = %(sub)s)
  AND created_at >= now() - make_interval(days => %(days)s)
GROUP BY agent
"""

_PERFORMANCE = """
SELECT count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = ANY(%(final)s)) AS final,
       round(avg(extract(epoch FROM finished_at - created_at) * 1000)
             FILTER (WHERE status = 'completed' AND finished_at IS NOT NULL), 1)
           AS avg_response_ms
FROM queries
WHERE org_id = %(org)s AND (%(sub)s::text IS NULL OR owner_sub = %(sub)s)
  AND created_at >= now() - make_interval(days => %(days)s)
"""

_SATISFACTION = """
SELECT count(*) AS ratings, round(avg(rating), 1) AS mean_rating
FROM query_feedback
WHERE org_id = %(org)s AND (%(sub)s::text IS NULL OR user_sub = %(sub)s)
  AND created_at >= now() - make_interval(days => %(days)s)
"""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Overview:
    """The organisation's projects now; ``pipeline_value`` None when not shown."""

    total_projects: int
    active_projects: int
    completed_this_month: int
    pipeline_value: int | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Performance:
    """How the queries of the window went, and how they were rated.

    ``avg_response_ms`` is the mean time from submission to the answer of the
    completed queries (queueing included: it is what the user waited);
    ``mean_rating`` is rounded to one decimal, halves up. Both are None when
    there is nothing to average.
    """

    completed_queries: int
    final_queries: int
    avg_response_ms: float | None
    ratings: int
    mean_rating: float | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Dashboard:
    """Everything the dashboard shows one viewer."""

    days: int
    scope: Scope
    overview: Overview
    agent_usage: dict[str, int]
    performance: Performance


def usage_scope(viewer: Viewer) -> Scope:
    """Whose queries and ratings the viewer's figures count (module docstring)."""
    everywhere = access(viewer, "3_internal_strategy", assigned=False)
    return "organization" if everywhere == "full_access" else "own"


def sees_pipeline_value(viewer: Viewer) -> bool:
    """Whether the viewer may see budget amounts on every project."""
    return access(viewer, "1_budgets", assigned=False) == "full_access"


class AnalyticsStore:
    """Counts the dashboard's figures; every read is on behalf of a viewer."""

    def __init__(self, pool: Pool):
        self.pool = pool

    async def dashboard(
        self, viewer: Viewer, *, days: int, agents: Sequence[str]
    ) -> Dashboard:
        """The dashboard of the last ``days`` days as ``viewer`` may see it.

        ``agent_usage`` has every agent of ``agents``, zero when unused, and
        any other agent that was asked in the window.
        """
        scope = usage_scope(viewer)
        params: dict[str, Any] = {
            "org": viewer.org_id,
            "sub": None if scope == "organization" else viewer.sub,
            "days": days,
            "active": list(ACTIVE_STATUSES),
            "completed": list(COMPLETED_STATUSES),
            "final": sorted(FINAL_STATUSES),
        }
        async with self.pool.connection() as conn:
            # One transaction, so every statement reads the same now().
            async with conn.pipeline(), conn.transaction():
                overview = await conn.execute(_OVERVIEW, params)
                usage = await conn.execute(_USAGE, params)
                performance = await conn.execute(_PERFORMANCE, params)
                satisfaction = await conn.execute(_SATISFACTION, params)
            projects = await overview.fetchone()
            used = await usage.fetchall()
            outcomes = await performance.fetchone()
            rated = await satisfaction.fetchone()
        assert projects is not None and outcomes is not None and rated is not None
        counts = dict.fromkeys(agents, 0) | {
            row["agent"]: int(row["queries"]) for row in used
        }
        return Dashboard(
            days=days,
            scope=scope,
            overview=Overview(
                total_projects=int(projects["total"]),
                active_projects=int(projects["active"]),
                completed_this_month=int(projects["completed_this_month"]),
                pipeline_value=(
                    int(projects["pipeline"]) if sees_pipeline_value(viewer) else None
                ),
            ),
            agent_usage=counts,
            performance=Performance(
                completed_queries=int(outcomes["completed"]),
                final_queries=int(outcomes["final"]),
                avg_response_ms=_number(outcomes["avg_response_ms"]),
                ratings=int(rated["ratings"]),
                mean_rating=_number(rated["mean_rating"]),
            ),
        )


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
