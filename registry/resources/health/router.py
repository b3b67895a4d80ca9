from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from registry.deps import RuntimeDep
from registry.errors import PatchhubError

router = APIRouter(tags=["health"])


class NotReady(PatchhubError):
    status_code = 503
    error = "not_ready"


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is unreachable"}})
async def readyz(runtime: RuntimeDep) -> dict[str, str]:
    """The database and the blob store answer."""

    def check() -> None:
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            raise NotReady(f"database unreachable: {type(exc).__name__}") from None
        try:
            runtime.store.check()
        except Exception as exc:
            raise NotReady(f"blob store unreachable: {type(exc).__name__}") from None

    await run_in_threadpool(check)
    return {"status": "ready"}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> str:
    """Prometheus metrics."""
    return str(request.app.state.metrics.render())
