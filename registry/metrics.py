"""Request metrics in the Prometheus text format, kept in process (one API process per metrics scrape)."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count: dict[tuple[str, str, int], int] = defaultdict(int)
        self._seconds: dict[tuple[str, str], float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._count[(method, route, status)] += 1
            self._seconds[(method, route)] += seconds

    def render(self) -> str:
        lines = [
            "# HELP patchhub_requests_total HTTP requests by method, route template and status.",
            "# TYPE patchhub_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), count in sorted(self._count.items()):
                lines.append(f'patchhub_requests_total{{method="{method}",route="{route}",status="{status}"}} {count}')
            lines += [
                "# HELP patchhub_request_seconds_total Time spent handling requests.",
                "# TYPE patchhub_request_seconds_total counter",
            ]
            for (method, route), seconds in sorted(self._seconds.items()):
                lines.append(f'patchhub_request_seconds_total{{method="{method}",route="{route}"}} {seconds:.6f}')
        return "\n".join(lines) + "\n"

    async def middleware(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        self.observe(request.method, _route_template(request), response.status_code, time.perf_counter() - started)
        # Every response names its request, so a client's error report can be matched to the server's log.
        response.headers["X-Request-ID"] = _request_id(request)
        return response


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _route_template(request: Request) -> str:
    # Label by the route's template, never the raw path, so label cardinality stays bounded. The router
    # records the matched route in the request scope.
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))
