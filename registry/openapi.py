"""The OpenAPI document, declaring for every route each error it can answer with the body that is sent.

FastAPI declares its own ``HTTPValidationError`` for 422; the service sends ``ErrorOut`` for every error. The
statuses every route of a kind can answer (401 without a token, 422 for bad parameters, 400 and 413 for an
unreadable or oversized JSON body, 503 when a dependency is down) are added here once, instead of in each route.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from registry.errors import ErrorOut

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")
PUBLIC_PATHS = ("/healthz", "/readyz", "/metrics")
GENERIC_ERRORS = {
    "400": "bad_request: the body could not be read as JSON",
    "401": "unauthorized: no token, or an unknown or revoked one",
    "413": "payload_too_large: the body is over its limit (docs/limits.md)",
    "422": "invalid: a parameter, header or body field is invalid",
    "431": "headers_too_large: the request's headers are over their limit (docs/limits.md)",
    "503": "unavailable: a dependency (database, broker, bucket) is down; retry after Retry-After",
}


def binary_body() -> dict[str, Any]:
    """``openapi_extra`` of a route whose body is raw bytes it streams itself (no body parameter declares it)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = declare_error_bodies(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def declare_error_bodies(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_ERROR_SCHEMAS:
        components.pop(name, None)
    components["ErrorOut"] = ErrorOut.model_json_schema()
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            _declare(path, operation)
    return schema


def _declare(path: str, operation: dict[str, Any]) -> None:
    answers: dict[str, Any] = operation.setdefault("responses", {})
    statuses = ["431", "503"]
    if not path.startswith(PUBLIC_PATHS):
        statuses.append("401")
    if operation.get("parameters") or "requestBody" in operation:
        statuses.append("422")
    if "application/json" in operation.get("requestBody", {}).get("content", {}):
        statuses += ["400", "413"]
    for status in statuses:
        answers.setdefault(status, {"description": GENERIC_ERRORS[status]})
    for status, answer in answers.items():
        if status[0] in "45":
            answer["content"] = {"application/json": {"schema": ERROR_REF}}
