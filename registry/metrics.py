"""Request metrics in the Prometheus text format, kept in process (one API process per metrics scrape)."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import defaultdict

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class MetricsMiddleware:
    """Counts and times every HTTP request by route template and status, and names it in ``X-Request-ID``.

    Plain ASGI (not ``app.middleware("http")``, whose per-message relaying of request and response bodies
    cost more than the hashing on a streamed upload or download): messages pass through untouched except
    the response start, which gains the header and is where the request is counted and timed."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        given = Headers(scope=scope).get("x-request-id", "")
        # Every response names its request, so a client's error report can be matched to the server's log.
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
                elapsed = time.perf_counter() - started
                self._metrics.observe(scope["method"], _route_template(scope), message["status"], elapsed)
            await send(message)

        await self._app(scope, receive, send_named)


def _route_template(scope: Scope) -> str:
    # Label by the route's template, never the raw path, so label cardinality stays bounded. The router
    # records the matched route in the request scope.
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))
