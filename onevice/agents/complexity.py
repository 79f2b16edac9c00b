"""How heavy a query is, scored before it is queued (spec §4.2).

A query starts at 1 point and gains points for what makes an agent work
harder. The caller's role sets the most it may ask for
(``query_complexity_max``: Salesperson and Creative Director 5, Director 8,
Leadership 10); above that, the query is refused with QUERY_TOO_COMPLEX and
the points of each factor, so the caller sees what to simplify.

=========================  =======================================  ==========
factor                     where                                    points
=========================  =======================================  ==========
base                       every query                              1
relationship depth         ``options.depth`` (1 to 3)               2 per level
                                                                    above 1
result count               ``options.max_results``                  1 per 10
                                                                    above 10
date span                  ``filters.year_range`` ("2015-2025")     1 per 5
                                                                    years above 5
detail                     ``options.format`` detailed_*            1
extras                     each ``options.include_*`` set true      1
=========================  =======================================  ==========
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any, Final, TypeGuard

from onevice.base.errors import ValidationError
from onevice.services.access import Viewer
from onevice.services.ratelimit import ROLE_LIMITS

_YEAR_RANGE: Final = re.compile(r"^\s*(\d{4})\s*-\s*(\d{4})\s*$")


@dataclasses.dataclass(frozen=True)
class Factor:
    """One reason a query costs points."""

    name: str
    value: Any
    points: int
    hint: str


def factors(request: Mapping[str, Any]) -> list[Factor]:
    """The factors of a validated request that cost points, base included."""
    options: Mapping[str, Any] = request.get("options") or {}
    filters: Mapping[str, Any] = request.get("filters") or {}
    found = [Factor("base", None, 1, "every query costs 1")]
    depth = options.get("depth")
    if _is_int(depth) and depth > 1:
        found.append(Factor("depth", depth, 2 * (depth - 1), "ask for a lower depth"))
    count = options.get("max_results")
    if _is_int(count) and count > 10:
        points = math.ceil((count - 10) / 10)
        found.append(Factor("max_results", count, points, "ask for fewer results"))
    span = _years(filters.get("year_range"))
    if span > 5:
        points = math.ceil((span - 5) / 5)
        found.append(Factor("year_range", span, points, "narrow the years"))
    detail = options.get("format")
    if isinstance(detail, str) and detail.startswith("detailed"):
        found.append(Factor("format", detail, 1, "ask for a brief"))
    found += [
        Factor(name, True, 1, f"leave {name} out")
        for name, value in sorted(options.items())
        if name.startswith("include_") and value is True
    ]
    return found


def score(request: Mapping[str, Any]) -> int:
    """The complexity points of a request."""
    return sum(factor.points for factor in factors(request))


def check(viewer: Viewer, request: Mapping[str, Any]) -> None:
    """Refuse a request above the viewer's ``query_complexity_max``."""
    limit = ROLE_LIMITS[viewer.role].query_complexity_max
    found = factors(request)
    total = sum(factor.points for factor in found)
    if total > limit:
        raise QueryTooComplex(
            f"The query scores {total} complexity points; your role allows {limit}",
            details={
                "score": total,
                "max": limit,
                "factors": [dataclasses.asdict(factor) for factor in found],
            },
        )


class QueryTooComplex(ValidationError):
    """A query above the caller's complexity maximum."""

    code = "QUERY_TOO_COMPLEX"

    def __init__(self, message: str, *, details: Mapping[str, Any]):
        super().__init__([], message)
        self.details = dict(details)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _years(value: Any) -> int:
    match = _YEAR_RANGE.match(value) if isinstance(value, str) else None
    if match is None:
        return 0
    start, end = int(match[1]), int(match[2])
    return max(0, end - start + 1)
