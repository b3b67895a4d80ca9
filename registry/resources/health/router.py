from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from registry.deps import RuntimeDep
from registry.errors import ErrorOut
from registry.resources.health.checks import run_checks

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up. Answered on the event loop: no database, no worker thread (a hung database can
    occupy every thread of the pool)."""
    return {"status": "ok"}


class CheckOut(BaseModel):
    name: str = Field(description="database, migrations, blob store, broker, queue gpu, queue cpu")
    ok: bool
    detail: str = Field(description="what was found, or what is missing and the command that fixes it")
    serves_without: bool = Field(description="the API serves without it (jobs wait queued), so /readyz stays 200")


class ReadyOut(BaseModel):
    status: str
    checks: list[CheckOut]


class NotReadyOut(ErrorOut):
    checks: list[CheckOut]


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"description": "the database, its schema or the blob store is not usable", "model": NotReadyOut}},
)
async def readyz(runtime: RuntimeDep) -> ReadyOut | JSONResponse:
    """Every dependency, one check each: 503 when the API cannot serve (database, migrations, blob store); the
    broker and a worker per queue are reported too (without them jobs wait queued)."""
    checks = await run_in_threadpool(run_checks, runtime)
    body = [CheckOut.model_validate(c, from_attributes=True) for c in checks]
    blocking = [c for c in checks if not c.ok and not c.serves_without]
    if blocking:
        detail = "; ".join(f"{c.name}: {c.detail}" for c in blocking)
        out = NotReadyOut(error="not_ready", detail=detail, checks=body)
        return JSONResponse(out.model_dump(), status_code=503)
    return ReadyOut(status="ready", checks=body)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> str:
    """Prometheus metrics."""
    return str(request.app.state.metrics.render())
