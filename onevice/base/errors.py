"""The error tree of OneVice.

Every failure a client can see is one of these, and each class carries the HTTP
status and the error code of spec §5 that it maps to::

    OneViceError                      500 INTERNAL_ERROR
    ├── ValidationError               400 VALIDATION_ERROR
    ├── AuthenticationError           401 UNAUTHORIZED
    ├── NotFound                      404 NOT_FOUND
    ├── MethodNotAllowed              405 METHOD_NOT_ALLOWED
    ├── Conflict                      409 CONFLICT
    │   ├── IdempotencyConflict       409 IDEMPOTENCY_CONFLICT
    │   ├── QueryFinished             409 QUERY_FINISHED
    │   ├── QueryNotFinished          409 QUERY_NOT_FINISHED
    │   └── FeedbackExists            409 FEEDBACK_EXISTS
    ├── PayloadTooLarge               413 PAYLOAD_TOO_LARGE
    ├── UnsupportedMediaType          415 UNSUPPORTED_MEDIA_TYPE
    ├── RateLimited                   429 RATE_LIMIT_EXCEEDED
    ├── QueryFailed                   500 QUERY_FAILED
    └── ServiceUnavailable            503 SERVICE_UNAVAILABLE
        ├── AgentUnavailable          503 AGENT_UNAVAILABLE
        └── DependencyUnavailable     503 DEPENDENCY_UNAVAILABLE

``details`` is a JSON-ready mapping that goes into the error body unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class OneViceError(Exception):
    """Root of every error OneVice raises on purpose."""

    status = 500
    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.headers: dict[str, str] = {}


class ValidationError(OneViceError):
    """The request is malformed; ``details.invalid_fields`` says where."""

    status = 400
    code = "VALIDATION_ERROR"

    def __init__(
        self,
        invalid_fields: Sequence[Mapping[str, Any]],
        message: str = "Request validation failed",
    ):
        super().__init__(message, details={"invalid_fields": list(invalid_fields)})

    @classmethod
    def field(
        cls,
        field: str,
        error: str,
        provided: Any = None,
        valid_options: Sequence[str] | None = None,
    ) -> ValidationError:
        """Build the error for a single bad field."""
        entry: dict[str, Any] = {"field": field, "error": error, "provided": provided}
        if valid_options is not None:
            entry["valid_options"] = list(valid_options)
        return cls([entry])


class AuthenticationError(OneViceError):
    status = 401
    code = "UNAUTHORIZED"


class NotFound(OneViceError):
    status = 404
    code = "NOT_FOUND"


class MethodNotAllowed(OneViceError):
    status = 405
    code = "METHOD_NOT_ALLOWED"


class Conflict(OneViceError):
    status = 409
    code = "CONFLICT"


class IdempotencyConflict(Conflict):
    code = "IDEMPOTENCY_CONFLICT"


class QueryFinished(Conflict):
    code = "QUERY_FINISHED"


class QueryNotFinished(Conflict):
    """The query is still queued or running; what was asked needs its outcome."""

    code = "QUERY_NOT_FINISHED"


class FeedbackExists(Conflict):
    """The user already rated this query; a rating is given once."""

    code = "FEEDBACK_EXISTS"


class PayloadTooLarge(OneViceError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(OneViceError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class RateLimited(OneViceError):
    status = 429
    code = "RATE_LIMIT_EXCEEDED"

    def __init__(
        self,
        message: str,
        *,
        retry_after: int,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(
            message, details={**(details or {}), "retry_after": retry_after}
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after), **(headers or {})}


class QueryFailed(OneViceError):
    """The agent ran and failed; the query is final with status ``failed``."""

    code = "QUERY_FAILED"


class ServiceUnavailable(OneViceError):
    status = 503
    code = "SERVICE_UNAVAILABLE"


class DependencyUnavailable(ServiceUnavailable):
    """A store or the queue could not be reached; nothing was half-written."""

    code = "DEPENDENCY_UNAVAILABLE"
