from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from registry.contract.kinds import JOB_KINDS
from registry.db.session import transaction
from registry.deps import PrincipalDep, RuntimeDep, SessionDep
from registry.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized, responses
from registry.jobs import service
from registry.jobs.schemas import JobCreate, JobKindOut, JobOut, JobPage, LogLine
from registry.models import JobStatus, Role
from registry.numbers import MAX_ROW_ID
from registry.pagination import PageSize
from registry.resources.namespaces.service import get_namespace, listing_scope
from registry.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["jobs"])
AUTH_ERRORS = (Unauthorized, Forbidden)
EVENT_POLL_SECONDS = 0.5


@router.get("/job-kinds", response_model=list[JobKindOut], responses=responses(*AUTH_ERRORS))
def list_job_kinds(principal: PrincipalDep) -> list[JobKindOut]:
    """Every job kind with the JSON schema of its params."""
    return [
        JobKindOut(name=spec.name, description=spec.description, params_schema=spec.params.model_json_schema())
        for spec in sorted(JOB_KINDS.values(), key=lambda s: s.name)
    ]


@router.post(
    "/jobs",
    status_code=status.HTTP_201_CREATED,
    response_model=JobOut,
    responses={**responses(*AUTH_ERRORS, NotFound, Invalid, Conflict), 200: {"description": "idempotent replay"}},
)
def submit_job(
    body: JobCreate,
    response: Response,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: Annotated[str | None, Header(description="the same key returns the same job")] = None,
) -> JobOut:
    """Validate params, record the job, and enqueue it once the record is committed."""
    namespace = get_namespace(session, body.namespace)
    principal.require(Role.write, namespace)
    job, created = service.submit_job(session, principal, namespace, body.kind, body.params, idempotency_key)
    if created:
        service.enqueue_once_committed(session, runtime, job)
    else:
        response.status_code = status.HTTP_200_OK
    return service.job_out(session, namespace, job)


@router.get("/jobs", response_model=JobPage, responses=responses(*AUTH_ERRORS, NotFound, Invalid))
def list_jobs(
    session: SessionDep,
    principal: PrincipalDep,
    namespace: str | None = None,
    status: JobStatus | None = None,
    kind: str | None = None,
    id_prefix: str | None = None,
    page_size: PageSize = 50,
    page_token: str | None = None,
) -> JobPage:
    """Jobs oldest first; ``id_prefix`` finds the job a short id (as progress bars print it) stands for."""
    namespace_id = listing_scope(session, principal, namespace)
    rows, next_token = service.list_jobs(
        session,
        namespace_id=namespace_id,
        status=status,
        kind=kind,
        page_size=page_size,
        page_token=page_token,
        id_prefix=id_prefix,
    )
    return JobPage(items=service.jobs_out(session, rows), next_page_token=next_token)


@router.get("/jobs/{job_id}", response_model=JobOut, responses=responses(*AUTH_ERRORS, NotFound))
def get_job(job_id: str, session: SessionDep, principal: PrincipalDep) -> JobOut:
    namespace, job = service.get_job(session, job_id)
    principal.require(Role.read, namespace, hidden_as=f"job {job_id[:64]!r}")
    return service.job_out(session, namespace, job)


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, responses=responses(*AUTH_ERRORS, NotFound, Conflict))
def cancel_job(job_id: str, session: SessionDep, principal: PrincipalDep) -> JobOut:
    """Cancel a queued job now, or ask a running one to stop at its next progress point."""
    namespace, job = service.get_job(session, job_id)
    principal.require(Role.write, namespace, hidden_as=f"job {job_id[:64]!r}")
    return service.job_out(session, namespace, service.cancel_job(session, job))


@router.get("/jobs/{job_id}/logs", response_model=list[LogLine], responses=responses(*AUTH_ERRORS, NotFound))
def get_logs(
    job_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    after: Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="the last line id already read")] = 0,
) -> list[LogLine]:
    """Log lines after the line id ``after`` (0: from the start)."""
    namespace, job = service.get_job(session, job_id)
    principal.require(Role.read, namespace, hidden_as=f"job {job_id[:64]!r}")
    return [
        LogLine(id=row.id, attempt=row.attempt, created_at=row.created_at, line=row.line)
        for row in service.read_logs(session, job, after)
    ]


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={**responses(*AUTH_ERRORS, NotFound), 200: {"content": {"text/event-stream": {}}}},
)
def job_events(
    job_id: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PrincipalDep,
    last_event_id: Annotated[
        int,
        Header(ge=0, le=MAX_ROW_ID, description="resume: only log lines after this id (the last log event's id)"),
    ] = 0,
) -> Response:
    """Server-sent events: ``progress`` when status/progress/message change (and first, always), ``log`` per line
    (its ``id`` is the line id, so a reconnecting client sends ``Last-Event-ID`` and misses nothing), ``end``
    last, and a keep-alive comment whenever the stream has been quiet for ``job_event_keepalive_seconds``."""
    namespace, _job = service.get_job(session, job_id)
    principal.require(Role.read, namespace, hidden_as=f"job {job_id[:64]!r}")
    return StreamingResponse(
        _events(request, runtime, job_id, last_event_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# The stream is written here rather than with sse-starlette: it is three event lines and one comment, and the
# loop has to poll the job row anyway (workers write progress to the database, not to this process), so the
# keep-alive is one timestamp in that loop.
async def _events(request: Request, runtime: Runtime, job_id: str, last_log: int) -> AsyncIterator[str]:
    last_state: tuple[object, ...] | None = None
    keepalive = runtime.settings.job_event_keepalive_seconds
    last_sent = time.monotonic()

    def snapshot() -> tuple[JobOut, list[LogLine]]:
        with transaction(runtime.session_factory) as session:
            namespace, job = service.get_job(session, job_id)
            lines = [
                LogLine(id=r.id, attempt=r.attempt, created_at=r.created_at, line=r.line)
                for r in service.read_logs(session, job, last_log)
            ]
            return service.job_out(session, namespace, job), lines

    while not await request.is_disconnected():
        job, lines = await run_in_threadpool(snapshot)
        events: list[str] = []
        for line in lines:
            last_log = line.id
            events.append(f"id: {line.id}\nevent: log\ndata: {line.model_dump_json()}\n\n")
        state = (job.status, job.progress, job.message, job.attempts)
        if state != last_state:
            last_state = state
            events.append(f"event: progress\ndata: {job.model_dump_json()}\n\n")
        if job.status.terminal:
            events.append(f"event: end\ndata: {json.dumps({'status': job.status.value})}\n\n")
        if not events and time.monotonic() - last_sent >= keepalive:
            events.append(": keep-alive\n\n")
        if events:
            last_sent = time.monotonic()
            yield "".join(events)
        if job.status.terminal:
            return
        await asyncio.sleep(min(EVENT_POLL_SECONDS, keepalive))
