"""How sure an answer is: one measure, shared by the four agents.

``confidence_score`` is computed from the evidence, never set by hand::

    score = 0.5 * match + 0.3 * coverage + 0.2 * volume

- ``match`` (0 to 1): how well the things the question names were found. An
  exact name is 1.0, a normalised one (case, accents, punctuation) 0.9, a fuzzy
  one its similarity times 0.8, an ambiguous one is halved, a missing one 0.
  Averaged over what was named; an agent whose question names nothing (a search
  by criteria) passes 1.0.
- ``coverage`` (0 to 1): the share of the requested criteria that the evidence
  could be checked against (a filter no record carries is not covered).
- ``volume`` (0 to 1): how much evidence backs the answer, ``found / enough``
  capped at 1, where ``enough`` is what the agent needs for a solid answer
  (for example the number of results asked for).

The weights put naming the right thing first: an answer about the wrong
artist is worthless however much it says. The score is rounded to two places.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

EXACT: Final = 1.0
NORMALISED: Final = 0.9
FUZZY_WEIGHT: Final = 0.8
AMBIGUITY_PENALTY: Final = 0.5


def match_quality(
    kind: str, similarity: float = 1.0, *, ambiguous: bool = False
) -> float:
    """The quality of one match: ``exact``, ``normalised``, ``fuzzy`` or ``none``."""
    quality = {
        "exact": EXACT,
        "normalised": NORMALISED,
        "fuzzy": FUZZY_WEIGHT * similarity,
    }.get(kind, 0.0)
    return quality * AMBIGUITY_PENALTY if ambiguous else quality


def mean(values: Iterable[float], *, empty: float = 1.0) -> float:
    """The mean of ``values``; ``empty`` when there are none."""
    items = list(values)
    return sum(items) / len(items) if items else empty


def confidence(*, match: float, coverage: float, found: int, enough: int) -> float:
    """The confidence of an answer from its evidence (see the module docs)."""
    volume = min(1.0, found / enough) if enough > 0 else 1.0
    score = 0.5 * _unit(match) + 0.3 * _unit(coverage) + 0.2 * volume
    return round(score, 2)


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))
