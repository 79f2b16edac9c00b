"""Starting a sign-in with Clerk's hosted page (spec §2.1 POST /auth/login).

OneVice does not see passwords: it answers with the URL of Clerk's sign-in page
for the user to open, carrying where to come back to. That return address must
be one of the configured origins, so the endpoint cannot be used to send
someone to a look-alike site (an open redirect).
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from onevice.base.errors import ServiceUnavailable, ValidationError
from onevice.base.settings import Settings

_EMAIL: Final = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
SIGN_IN_TTL_SECONDS: Final = 3600


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL, else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username or parts.password:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def sign_in_link(settings: Settings, body: Any) -> dict[str, Any]:
    """The spec §2.1 answer: Clerk's sign-in URL for the email, and its expiry."""
    if not settings.clerk_sign_in_url:
        raise ServiceUnavailable(
            "Sign-in with Clerk is not configured on this server",
            details={"setting": "CLERK_SIGN_IN_URL"},
        )
    email, redirect_url = _validated(settings, body)
    query = urlencode({"redirect_url": redirect_url, "login_hint": email})
    return {
        "auth_url": f"{settings.clerk_sign_in_url}?{query}",
        "session_id": f"sess_{secrets.token_urlsafe(16)}",
        "expires_in": SIGN_IN_TTL_SECONDS,
    }


def _validated(settings: Settings, body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise ValidationError.field("body", "Must be a JSON object", provided=None)
    problems: list[dict[str, Any]] = []
    email = body.get("email")
    if not isinstance(email, str) or not _EMAIL.match(email):
        problems.append(
            {"field": "email", "error": "Not an email address", "provided": email}
        )
    redirect_url = body.get("redirect_url")
    allowed = [origin.rstrip("/") for origin in settings.redirect_allowlist]
    if not isinstance(redirect_url, str) or origin_of(redirect_url) not in allowed:
        problems.append(
            {
                "field": "redirect_url",
                "error": "Not an address sign-in may return to",
                "provided": redirect_url,
                "valid_options": allowed,
            }
        )
    problems += [
        {"field": name, "error": "Unknown field", "provided": body[name]}
        for name in sorted(set(body) - {"email", "redirect_url"})
    ]
    if problems:
        raise ValidationError(problems)
    assert isinstance(email, str) and isinstance(redirect_url, str)
    return email, redirect_url
