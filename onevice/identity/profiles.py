"""User profiles (spec §2.2): what a profile shows and what a user may change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from onevice.base.errors import ValidationError
from onevice.storage.users import UserRecord

THEMES: Final = ("light", "dark", "system")
EDITABLE_FIELDS: Final = ("preferences",)
PREFERENCES: Final = ("theme", "notifications", "default_agent")


def profile_body(user: UserRecord) -> dict[str, Any]:
    """The spec §2.2 profile of ``user``."""
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "permissions": user.permissions,
        "data_sensitivity_level": user.data_sensitivity_level,
        "created_at": user.created_at.isoformat(),
        "last_login": user.last_login.isoformat() if user.last_login else None,
        "preferences": user.preferences,
    }


def preferences_update(body: Any, agents: Sequence[str]) -> dict[str, Any]:
    """The preferences a PUT /users/profile body sets; ValidationError if any is bad."""
    if not isinstance(body, dict):
        raise ValidationError.field(
            "body", "Request body must be a JSON object", provided=type(body).__name__
        )
    problems: list[dict[str, Any]] = [
        {
            "field": name,
            "error": "Unknown or read-only field",
            "provided": body[name],
            "valid_options": list(EDITABLE_FIELDS),
        }
        for name in sorted(set(body) - set(EDITABLE_FIELDS))
    ]
    preferences = body.get("preferences")
    if not isinstance(preferences, dict) or not preferences:
        problems.append(
            {
                "field": "preferences",
                "error": "Must be an object with at least one preference",
                "provided": preferences,
            }
        )
        raise ValidationError(problems)
    problems += _preference_problems(preferences, agents)
    if problems:
        raise ValidationError(problems)
    return dict(preferences)


def _preference_problems(
    preferences: dict[str, Any], agents: Sequence[str]
) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []

    def bad(name: str, error: str, options: Sequence[str] | None = None) -> None:
        entry: dict[str, Any] = {
            "field": f"preferences.{name}",
            "error": error,
            "provided": preferences[name],
        }
        if options is not None:
            entry["valid_options"] = list(options)
        problems.append(entry)

    for name in sorted(set(preferences) - set(PREFERENCES)):
        bad(name, "Unknown preference", PREFERENCES)
    if "theme" in preferences and preferences["theme"] not in THEMES:
        bad("theme", "Unknown theme", THEMES)
    if "notifications" in preferences and not isinstance(
        preferences["notifications"], bool
    ):
        bad("notifications", "Must be true or false")
    if "default_agent" in preferences and preferences["default_agent"] not in agents:
        bad("default_agent", "Unknown agent", agents)
    return problems
