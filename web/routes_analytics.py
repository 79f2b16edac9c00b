"""``GET /analytics/dashboard`` (spec §2.5): projects, agent usage, performance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from onevice.agents.registry import PRODUCT_AGENTS
from onevice.base.errors import ValidationError
from onevice.storage.analytics import TIMEFRAMES, Dashboard
from web.auth import viewer_of
from web.keys import ANALYTICS
from web.routes_queries import json_response

routes = web.RouteTableDef()

DEFAULT_TIMEFRAME: Final = "30d"
PARAMETERS: Final = ("timeframe", "role_filter")
#: Units of money labels, largest first: "$2.5M", "$450k".
MONEY_UNITS: Final = ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k"))


@routes.get("/analytics/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    """The caller's dashboard over ``timeframe`` (7d, 30d or 90d; 30d by default).

    Filtered by role where it is read (``onevice.storage.analytics``):

    - ``overview`` counts the organisation's projects for every role, as
      ``GET /projects`` lists them to everyone there; ``pipeline_value`` (the
      budgets of the active projects) is present only for Leadership, since
      only Leadership sees budget amounts on every project (spec §4.3
      ``1_budgets``), and absent, not null, for everyone else.
    - ``agent_usage`` and ``performance_metrics`` are the organisation's for
      Leadership. Spec §4.3 gives only Leadership full access to internal
      information across the company (``3_internal_strategy``; a Director's is
      limited to their projects, and queries belong to no project), and how
      much each colleague asks and how they rate the answers is of that kind:
      Directors, Salespeople and Creative Directors see the figures of their
      own queries and ratings. ``scope`` says which (``organization`` or
      ``own``).
    """
    timeframe = timeframe_of(request.query)
    board = await request.app[ANALYTICS].dashboard(
        viewer_of(request), days=TIMEFRAMES[timeframe], agents=PRODUCT_AGENTS
    )
    return json_response(dashboard_body(timeframe, board))


def timeframe_of(query: Mapping[str, str]) -> str:
    """The timeframe asked for; ValidationError naming every bad parameter."""
    problems: list[dict[str, Any]] = []

    def bad(field: str, error: str, options: list[str]) -> None:
        problems.append(
            {
                "field": field,
                "error": error,
                "provided": query[field],
                "valid_options": options,
            }
        )

    timeframe = query.get("timeframe", DEFAULT_TIMEFRAME)
    if timeframe not in TIMEFRAMES:
        bad("timeframe", "Unknown timeframe", list(TIMEFRAMES))
    if query.get("role_filter", "true") != "true":
        bad("role_filter", "Filtering by role is always applied", ["true"])
    for name in sorted(set(query) - set(PARAMETERS)):
        bad(name, "Unknown parameter", list(PARAMETERS))
    if problems:
        raise ValidationError(problems)
    return timeframe


def dashboard_body(timeframe: str, board: Dashboard) -> dict[str, Any]:
    """The spec §2.5 body, with the raw figures beside the formatted ones."""
    overview: dict[str, Any] = {
        "total_projects": board.overview.total_projects,
        "active_projects": board.overview.active_projects,
        "completed_this_month": board.overview.completed_this_month,
    }
    if board.overview.pipeline_value is not None:
        overview["pipeline_value"] = money_label(board.overview.pipeline_value)
        overview["pipeline_value_usd"] = board.overview.pipeline_value
    performance = board.performance
    return {
        "timeframe": timeframe,
        "scope": board.scope,
        "overview": overview,
        "agent_usage": board.agent_usage,
        "performance_metrics": {
            "avg_response_time": duration_label(performance.avg_response_ms),
            "avg_response_time_ms": performance.avg_response_ms,
            "query_success_rate": percent_label(
                performance.completed_queries, performance.final_queries
            ),
            "completed_queries": performance.completed_queries,
            "final_queries": performance.final_queries,
            "user_satisfaction": performance.mean_rating,
            "ratings": performance.ratings,
        },
    }


def money_label(amount: int) -> str:
    """Dollars in the spec's short form: 2_500_000 → "$2.5M", 450_000 → "$450k"."""
    for unit, suffix in MONEY_UNITS:
        # Round before choosing the unit, so 999_990 reads "$1M", not "$1000k".
        value = round(amount / unit, 1)
        if value >= 1:
            return f"${value:g}{suffix}"
    return f"${amount}"


def duration_label(milliseconds: float | None) -> str | None:
    """A mean duration as "1.2s" from a second on, "340ms" below; None if none."""
    if milliseconds is None:
        return None
    if round(milliseconds) >= 1000:
        return f"{milliseconds / 1000:.1f}s"
    return f"{milliseconds:.0f}ms"


def percent_label(part: int, whole: int) -> str | None:
    """``part`` of ``whole`` as "98.5%"; None when ``whole`` is zero."""
    if whole == 0:
        return None
    return f"{100 * part / whole:.1f}%"
