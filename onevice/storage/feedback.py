"""The ``query_feedback`` table: a user's rating of one of their own queries.

A rating is given once per query and user, and only for a final query
(completed, failed or cancelled): the user rates an outcome they have seen.
Someone else's query is not found, like a missing one, so rating cannot be used
to learn which query ids exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from onevice.base.errors import FeedbackExists, QueryNotFinished
from onevice.services.access import Viewer
from onevice.storage.db import Pool
from onevice.storage.queries import QueryStore

LOWEST_RATING: Final = 1
HIGHEST_RATING: Final = 5
#: Longest comment, in characters; the table's CHECK holds the same bound.
MAX_COMMENT_CHARS: Final = 2000


@dataclasses.dataclass(frozen=True, kw_only=True)
class Feedback:
    """One stored rating."""

    query_id: str
    user_sub: str
    org_id: str
    rating: int
    comment: str | None
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Feedback:
        return cls(
            query_id=row["query_id"],
            user_sub=row["user_sub"],
            org_id=row["org_id"],
            rating=row["rating"],
            comment=row["comment"],
            created_at=row["created_at"],
        )

    def to_json(self) -> dict[str, Any]:
        """The feedback as the API shows it to the user who gave it."""
        return {
            "query_id": self.query_id,
            "rating": self.rating,
            "comment": self.comment,
            "created_at": self.created_at.isoformat(),
        }


class FeedbackStore:
    """Stores ratings, each on behalf of the viewer who gives it."""

    def __init__(self, pool: Pool):
        self.pool = pool

    async def rate(
        self, viewer: Viewer, query_id: str, rating: int, comment: str | None
    ) -> Feedback:
        """Store the viewer's rating of their own final query.

        NotFound for a query that is missing or not the viewer's,
        QueryNotFinished while it is queued or running, FeedbackExists when the
        viewer rated it already.
        """
        assert LOWEST_RATING <= rating <= HIGHEST_RATING
        query = await QueryStore(self.pool).get(viewer, query_id)
        if not query.is_final:
            raise QueryNotFinished(
                "The query has not finished; rate it once it has",
                details={"query_id": query_id, "status": query.status},
            )
        async with self.pool.connection() as conn:
            # A final status never changes again, so the check above still
            # holds when the row is inserted; the primary key settles a race
            # between two ratings of the same query by the same user.
            cursor = await conn.execute(
                "INSERT INTO query_feedback (query_id, user_sub, org_id, rating,"
                " comment) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (query_id, user_sub) DO NOTHING RETURNING *",
                (query_id, viewer.sub, viewer.org_id, rating, comment),
            )
            stored = await cursor.fetchone()
        if stored is None:
            raise FeedbackExists(
                "You have already rated this query; a rating is given once",
                details={"query_id": query_id},
            )
        return Feedback.from_row(stored)
