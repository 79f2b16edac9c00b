"""``POST /queries/{query_id}/feedback``: a user rates one of their own queries."""

from __future__ import annotations

from typing import Any, Final

import structlog
from aiohttp import web

from onevice.base.errors import ValidationError
from onevice.storage.feedback import HIGHEST_RATING, LOWEST_RATING, MAX_COMMENT_CHARS
from web.auth import viewer_of
from web.keys import FEEDBACK
from web.routes_queries import json_response, read_json

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()

FIELDS: Final = ("rating", "comment")
#: How much of a refused comment an error repeats back.
ECHOED_CHARS: Final = 100


@routes.post("/queries/{query_id}/feedback")
async def rate_query(request: web.Request) -> web.Response:
    """Rate a final query of the caller's own, once; 201 with what was stored.

    The rater is the verified token's subject, never a field of the body.
    """
    viewer = viewer_of(request)
    rating, comment = feedback_of(await read_json(request))
    feedback = await request.app[FEEDBACK].rate(
        viewer, request.match_info["query_id"], rating, comment
    )
    log.info("query_rated", query_id=feedback.query_id, rating=rating)
    return json_response(feedback.to_json(), status=201)


def feedback_of(body: Any) -> tuple[int, str | None]:
    """(rating, comment) of a feedback body; ValidationError naming every bad field.

    A comment that is empty or only whitespace is stored as no comment.
    """
    if not isinstance(body, dict):
        raise ValidationError.field(
            "body", "Request body must be a JSON object", provided=type(body).__name__
        )
    problems: list[dict[str, Any]] = [
        {
            "field": name,
            "error": "Unknown field",
            "provided": body[name],
            "valid_options": list(FIELDS),
        }
        for name in sorted(set(body) - set(FIELDS))
    ]
    rating = body.get("rating")
    if not _is_rating(rating):
        problems.append(
            {
                "field": "rating",
                "error": "Rating is required"
                if rating is None
                else f"Must be a whole number from {LOWEST_RATING} to {HIGHEST_RATING}",
                "provided": rating,
            }
        )
    comment = body.get("comment")
    error = _comment_error(comment)
    if error is not None:
        shown = comment[:ECHOED_CHARS] if isinstance(comment, str) else comment
        problems.append({"field": "comment", "error": error, "provided": shown})
    if problems:
        raise ValidationError(problems)
    assert isinstance(rating, int)
    text = comment.strip() if isinstance(comment, str) else None
    return rating, text or None


def _is_rating(value: Any) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and LOWEST_RATING <= value <= HIGHEST_RATING
    )


def _comment_error(comment: Any) -> str | None:
    """Why ``comment`` cannot be stored, or None if it can."""
    if comment is None:
        return None
    if not isinstance(comment, str):
        return "Must be a string or null"
    if len(comment) > MAX_COMMENT_CHARS:
        return f"Must be at most {MAX_COMMENT_CHARS} characters, not {len(comment)}"
    if "\x00" in comment:
        return "Must not contain NUL characters"
    return None
