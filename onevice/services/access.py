"""Who is asking: the viewer every read is made on behalf of.

A :class:`Viewer` is built from verified token claims by the identity layer and
passed down to storage, so filtering happens where data is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

ROLES: Final = ("Leadership", "Director", "Salesperson", "Creative Director")

#: The organisation of the local issuer's tokens (and of the dev stack's data).
DEFAULT_ORG: Final = "org_onevice_dev"

#: Permissions a role carries when the token issuer does not list them.
ROLE_PERMISSIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "Leadership": ("read:all", "write:projects", "admin:users"),
    "Director": ("read:projects", "write:projects", "query:agents"),
    "Salesperson": ("read:projects", "query:agents"),
    "Creative Director": ("read:projects", "query:agents"),
}

#: spec §4.1 ``data_sensitivity_level``: 1 sees the most sensitive categories.
ROLE_SENSITIVITY_LEVEL: Final[Mapping[str, int]] = {
    "Leadership": 1,
    "Director": 2,
    "Salesperson": 3,
    "Creative Director": 3,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Viewer:
    """The authenticated user a request or a query acts for."""

    sub: str
    role: str
    org_id: str
    permissions: tuple[str, ...] = ()
    data_sensitivity_level: int = 3
    #: When the token naming this viewer was issued (unix seconds), if known.
    issued_at: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The access context stored with a query, so the worker acts as its owner."""
        return dataclasses.asdict(self) | {"permissions": list(self.permissions)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Viewer:
        return cls(
            sub=str(data["sub"]),
            role=str(data["role"]),
            org_id=str(data["org_id"]),
            permissions=tuple(str(p) for p in data.get("permissions", ())),
            data_sensitivity_level=int(data.get("data_sensitivity_level", 3)),
            issued_at=data.get("issued_at"),
        )
