"""``/projects`` (spec §2.4): project data, filtered for the caller by role."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from aiohttp import web

from onevice.base.errors import ValidationError
from onevice.storage.projects import (
    ACTIVE_STATUSES,
    COMPLETED_STATUSES,
    PROJECT_TYPES,
    SORTABLE,
    ProjectListing,
)
from web.auth import viewer_of
from web.keys import PROJECTS
from web.routes_queries import json_response

routes = web.RouteTableDef()


MAX_LIMIT: Final = 100
#: Far past any real listing, and small enough that its offset fits PostgreSQL.
MAX_PAGE: Final = 1_000_000
_MAX_DIGITS: Final = 18
PARAMETERS: Final = ("page", "limit", "filter", "sort")


@routes.get("/projects")
async def list_projects(request: web.Request) -> web.Response:
    """A page of the organisation's projects (spec §2.4), budget tiers only."""
    listing = listing_of(request.query)
    projects, total = await request.app[PROJECTS].list(viewer_of(request), listing)
    return json_response(
        {
            "projects": projects,
            "pagination": {
                "page": listing.page,
                "limit": listing.limit,
                "total": total,
                "pages": math.ceil(total / listing.limit),
            },
        }
    )


def listing_of(query: Mapping[str, str]) -> ProjectListing:
    """The listing asked for; ValidationError naming every bad parameter."""
    problems: list[dict[str, Any]] = []

    def bad(field: str, error: str, options: Sequence[str] | None = None) -> None:
        entry: dict[str, Any] = {
            "field": field,
            "error": error,
            "provided": query[field],
        }
        if options is not None:
            entry["valid_options"] = list(options)
        problems.append(entry)

    page = _positive(query.get("page", "1"))
    if page is None or page > MAX_PAGE:
        bad("page", f"Must be a whole number from 1 to {MAX_PAGE}")
    limit = _positive(query.get("limit", "20"))
    if limit is None or limit > MAX_LIMIT:
        bad("limit", f"Must be a whole number from 1 to {MAX_LIMIT}")
    statuses, project_type = _filter(query.get("filter", "active"))
    if statuses is False:
        filters = ["active", "completed", "all"] + [f"type:{t}" for t in PROJECT_TYPES]
        bad("filter", "Unknown filter", filters)
    field, _, direction = query.get("sort", "created_at desc").partition(" ")
    if field not in SORTABLE or direction.strip() not in ("", "asc", "desc"):
        bad("sort", "Must be a field and asc or desc", [f"{f} desc" for f in SORTABLE])
    for name in sorted(set(query) - set(PARAMETERS)):
        bad(name, "Unknown parameter", PARAMETERS)
    if problems:
        raise ValidationError(problems)
    assert page is not None and limit is not None and statuses is not False
    return ProjectListing(
        page=page,
        limit=limit,
        statuses=statuses,
        project_type=project_type,
        sort=field,
        descending=direction.strip() != "asc",
    )


def _positive(raw: str) -> int | None:
    # isdigit() alone admits digits int() refuses ("²"), and int() refuses
    # numbers of thousands of digits; short ASCII digits are all it may see.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_DIGITS:
        return None
    return int(raw) if int(raw) >= 1 else None


def _filter(raw: str) -> tuple[tuple[str, ...] | Literal[False] | None, str | None]:
    """(statuses or None for all, project type) of a filter; False if unknown."""
    if raw == "active":
        return ACTIVE_STATUSES, None
    if raw == "completed":
        return COMPLETED_STATUSES, None
    if raw == "all":
        return None, None
    kind, _, value = raw.partition(":")
    if kind == "type" and value in PROJECT_TYPES:
        return None, value
    return False, None


@routes.get("/projects/{project_id}")
async def get_project(request: web.Request) -> web.Response:
    """One project with budget, team, timeline and the documents the caller may see."""
    project = await request.app[PROJECTS].get(
        viewer_of(request), request.match_info["project_id"]
    )
    return json_response(project)
