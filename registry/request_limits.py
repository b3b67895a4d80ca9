"""Limits every request meets before a route runs: the size of its headers and of a JSON body, and how deep
that body nests. Streamed uploads (routes without a JSON body) pass through untouched; their bytes are bounded
by ``max_upload_bytes`` while they stream.

A JSON body is read here (at most ``max_json_body_bytes``), checked, then handed to the route as it came.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.routing import APIRoute
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.errors import error_body
from registry.json_limits import nested_deeper_than, storable_problem
from registry.numbers import parse_count


class RequestLimits:
    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Iterable[BaseRoute],
        max_headers_bytes: int,
        max_json_body_bytes: int,
        max_json_depth: int,
    ) -> None:
        self.app = app
        self.routes = routes
        self.max_headers_bytes = max_headers_bytes
        self.max_json_body_bytes = max_json_body_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        head = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        if head + sum(len(name) + len(value) + 4 for name, value in headers) > self.max_headers_bytes:
            detail = f"the request's target and headers are larger than {self.max_headers_bytes} bytes"
            await _refuse(scope, receive, send, 431, "headers_too_large", detail)
            return
        if b"%00" in (scope.get("raw_path") or b"") or b"%00" in (scope.get("query_string") or b""):
            await _refuse(scope, receive, send, 422, "invalid", "the request target must not contain NUL (%00)")
            return
        if not self._takes_json_body(scope):
            await self.app(scope, receive, send)
            return
        declared = dict(headers).get(b"content-length")
        if declared is not None and (parse_count(declared.decode("latin-1")) or 0) > self.max_json_body_bytes:
            await _refuse(scope, receive, send, 413, "payload_too_large", self._too_large())
            return
        body, disconnected = await self._read_body(receive)
        if body is None:
            await _refuse(scope, receive, send, 413, "payload_too_large", self._too_large())
            return
        if _is_json(dict(headers).get(b"content-type")):
            problem = (
                f"JSON nested deeper than {self.max_json_depth} levels"
                if nested_deeper_than(body, self.max_json_depth)
                else storable_problem(body)
            )
            if problem is not None:
                await _refuse(scope, receive, send, 422, "invalid", f"body: {problem}")
                return
        await self.app(scope, _replay(body, disconnected, receive), send)

    def _takes_json_body(self, scope: Scope) -> bool:
        for route in self.routes:
            match, _child = route.matches(scope)
            if match is Match.FULL:
                return isinstance(route, APIRoute) and route.body_field is not None
        return False

    async def _read_body(self, receive: Receive) -> tuple[bytes | None, bool]:
        """The whole body, or None past the limit; and whether the client went away meanwhile."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return bytes(body), True
            body += message.get("body", b"")
            if len(body) > self.max_json_body_bytes:
                return None, False
            if not message.get("more_body", False):
                return bytes(body), False

    def _too_large(self) -> str:
        return f"the JSON body is larger than {self.max_json_body_bytes} bytes"


def _is_json(content_type: bytes | None) -> bool:
    """FastAPI parses the body as JSON when there is no Content-Type, or it is application/json or ...+json."""
    if content_type is None:
        return True
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


def _replay(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if disconnected:
            return {"type": "http.disconnect"}
        return await receive()

    return replay


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, error: str, detail: str) -> None:
    await JSONResponse(error_body(error, detail), status_code=status)(scope, receive, send)
