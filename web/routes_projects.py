"""``/projects`` (spec §2.4): project data, filtered for the caller by role."""

from __future__ import annotations

from aiohttp import web

from web.auth import viewer_of
from web.keys import PROJECTS
from web.routes_queries import json_response

routes = web.RouteTableDef()


@routes.get("/projects/{project_id}")
async def get_project(request: web.Request) -> web.Response:
    """One project with budget, team, timeline and the documents the caller may see."""
    project = await request.app[PROJECTS].get(
        viewer_of(request), request.match_info["project_id"]
    )
    return json_response(project)
