"""Typed exceptions that mirror the service's ``{"error": <type>, "detail": <sentence>}`` bodies.

Catch ``PatchhubError`` for everything, or a subclass for one case (``NotFoundError`` ...). Errors that
came from a response carry its ``status_code``, the service's ``error`` type, the ``detail`` sentence and
the ``request_id`` (from an ``X-Request-ID`` header, when the service or a proxy sets one).
"""

from __future__ import annotations

import email.utils
import time
from typing import TYPE_CHECKING, ClassVar

import httpx

if TYPE_CHECKING:
    from patchhub.types import Job


class PatchhubError(Exception):
    """Base of every error the SDK raises on purpose."""

    status_code: int | None = None
    error: str = "error"
    detail: str
    request_id: str | None = None
    hint: str | None = None  # what to do about it, where the SDK knows (added to the message)

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class APIStatusError(PatchhubError):
    """The service answered with a 4xx or 5xx status."""

    default_error: ClassVar[str] = "http_error"
    status_code: int

    def __init__(
        self,
        detail: str,
        *,
        status_code: int,
        error: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.error = error or self.default_error
        self.request_id = request_id
        self.retry_after = retry_after  # seconds the service asked us to wait (Retry-After), if any

    def __str__(self) -> str:
        suffix = f", request {self.request_id}" if self.request_id else ""
        hint = f": {self.hint}" if self.hint else ""
        return f"{self.detail} ({self.error}, HTTP {self.status_code}{suffix}){hint}"


class BadRequestError(APIStatusError):
    default_error = "bad_request"


class AuthenticationError(APIStatusError):
    """401: no token, an unknown token or a revoked one."""

    default_error = "unauthorized"


class PermissionDeniedError(APIStatusError):
    """403: the token lacks the role, or is scoped to another namespace."""

    default_error = "forbidden"


class NotFoundError(APIStatusError):
    default_error = "not_found"


class ConflictError(APIStatusError):
    default_error = "conflict"


class PreconditionFailedError(APIStatusError):
    default_error = "precondition_failed"


class PayloadTooLargeError(APIStatusError):
    default_error = "payload_too_large"


class RangeNotSatisfiableError(APIStatusError):
    default_error = "range_not_satisfiable"


class InvalidError(APIStatusError):
    """422: the request was understood but its content is not acceptable (a bad name, a bad file ...)."""

    default_error = "invalid"


class RateLimitError(APIStatusError):
    default_error = "rate_limited"


class InternalServerError(APIStatusError):
    """5xx: a bug or an outage on the service side (retried before it reaches you)."""

    default_error = "internal_error"


class APIConnectionError(PatchhubError):
    """No response came back: the connection failed or broke off."""

    error = "connection_error"


class APITimeoutError(APIConnectionError):
    error = "timeout"


class ChecksumMismatchError(PatchhubError):
    """Downloaded bytes do not match the size or sha256 the service announced; nothing was cached."""

    error = "checksum_mismatch"


class NotSafetensorsError(PatchhubError, ValueError):
    """A file given for upload is not safetensors (a torch pickle, say); nothing was sent."""

    error = "not_safetensors"


class ConfigurationError(PatchhubError):
    """The client is missing something it needs (a URL, a token) or was given contradictory options."""

    error = "configuration"


_ERRORS_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: PayloadTooLargeError,
    416: RangeNotSatisfiableError,
    422: InvalidError,
    429: RateLimitError,
}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_from_response(response: httpx.Response) -> APIStatusError:
    """The typed error for a non-2xx response (whose body must already be read)."""
    status = response.status_code
    error_type: str | None = None
    detail = response.reason_phrase or f"HTTP {status}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error_type = body.get("error") if isinstance(body.get("error"), str) else None
        if isinstance(body.get("detail"), str):
            detail = body["detail"]
    elif response.text:
        detail = response.text.strip()[:500]
    cls = _ERRORS_BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    return cls(
        detail,
        status_code=status,
        error=error_type,
        request_id=response.headers.get("X-Request-ID"),
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


class JobFailedError(PatchhubError):
    """``wait`` saw the job fail; ``job`` is its final record (``job.error`` says why)."""

    error = "job_failed"

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} ({job.kind}) failed: {job.error or job.message or 'no reason given'}")
        self.job = job


class JobCancelledError(PatchhubError):
    """``wait`` saw the job cancelled; ``job`` is its final record."""

    error = "job_cancelled"

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} ({job.kind}) was cancelled: {job.message}")
        self.job = job


class JobTimeoutError(PatchhubError):
    """``wait``/``follow`` ran out of time; the job goes on. ``job`` is its record when time ran out."""

    error = "job_timeout"

    def __init__(self, job: Job, timeout: float) -> None:
        super().__init__(f"job {job.id} is still {job.status} after {timeout:g}s ({job.progress:.0%})")
        self.job = job
