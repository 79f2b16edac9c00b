"""Keys for names, so that "Beyoncé", "beyonce" and "BEYONCÉ" are one person.

Shared by the importers that write people and companies into the graph and by
the agents that look them up: both sides must compute the same key.
"""

from __future__ import annotations

import re
import unicodedata


def name_key(name: str) -> str:
    """The deduplication key of a name: no accents, no case, no punctuation."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]", " ", letters.casefold()).split())
