"""Error types carrying their HTTP status; one handler renders them as ``{"error", "detail"}``."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field


class PatchhubError(Exception):
    status_code: ClassVar[int] = 500
    error: ClassVar[str] = "internal_error"

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class Invalid(PatchhubError):
    status_code = 422
    error = "invalid"


class BadRequest(PatchhubError):
    status_code = 400
    error = "bad_request"


class Unauthorized(PatchhubError):
    status_code = 401
    error = "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(PatchhubError):
    status_code = 403
    error = "forbidden"


class NotFound(PatchhubError):
    status_code = 404
    error = "not_found"


class Conflict(PatchhubError):
    status_code = 409
    error = "conflict"


class PreconditionFailed(PatchhubError):
    status_code = 412
    error = "precondition_failed"


class PayloadTooLarge(PatchhubError):
    status_code = 413
    error = "payload_too_large"


class RangeNotSatisfiable(PatchhubError):
    status_code = 416
    error = "range_not_satisfiable"


class Unavailable(PatchhubError):
    """A dependency (database, blob store) cannot serve the request now; the client may retry."""

    status_code = 503
    error = "unavailable"

    def __init__(self, detail: str, retry_after_seconds: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error: str = Field(description="the error type: invalid, not_found, conflict, unauthorized ...")
    detail: str = Field(description="a human sentence saying what was wrong")


HTTP_ERROR_NAMES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def error_body(error: str, detail: str) -> dict[str, Any]:
    return {"error": error, "detail": detail}


def responses(*errors: type[PatchhubError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the errors a route can return."""
    return {e.status_code: {"description": e.error, "model": ErrorOut} for e in errors}
