"""Jobs: the list (filtered by status and kind), a job's page with live progress and log (the API's event stream,
for the cookie session), cancel, and the submission form generated from each kind's schema."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from registry.auth.principal import Principal
from registry.deps import RuntimeDep, SessionDep
from registry.errors import Invalid, NotFound, PatchhubError
from registry.jobs import router as jobs_api
from registry.jobs.schemas import JobCreate, JobKindOut
from registry.models import JobStatus, Role
from registry.numbers import MAX_ROW_ID, parse_count
from registry.resources.namespaces import router as namespaces_api
from registry.resources.namespaces.service import get_namespace
from registry.ui import job_forms, queries
from registry.ui.deps import FormDep, PagePrincipalDep, enum_filter
from registry.ui.rendering import PageRoute, can, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
JOBS_PAGE_SIZE = 50
LOG_TAIL_LINES = 200


@router.get("/jobs")
def jobs_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    status: str = "",
    kind: str = "",
    page_token: str = "",
) -> Response:
    page = jobs_api.list_jobs(
        session=session,
        principal=principal,
        namespace=None,
        status=enum_filter(JobStatus, status, "status"),
        kind=kind or None,
        page_size=JOBS_PAGE_SIZE,
        page_token=page_token or None,
    )
    filters = {k: v for k, v in {"status": status, "kind": kind}.items() if v}
    context = {
        "jobs": page.items,
        "next_page": {**filters, "page_token": page.next_page_token} if page.next_page_token else None,
        "filters": filters,
        "statuses": [s.value for s in JobStatus],
        "kinds": [k.name for k in jobs_api.list_job_kinds(principal=principal)],
        "can_submit": bool(_writable_namespaces(session, principal)),
    }
    return render(request, "jobs.html", context, principal=principal)


def _writable_namespaces(session: SessionDep, principal: Principal) -> list[str]:
    visible = namespaces_api.list_namespaces(session=session, principal=principal)
    return [n.name for n in visible if can(principal, Role.write, get_namespace(session, n.name))]


def _kind(principal: Principal, name: str) -> tuple[list[JobKindOut], JobKindOut | None]:
    kinds = jobs_api.list_job_kinds(principal=principal)
    chosen = next((k for k in kinds if k.name == name), None)
    if name and chosen is None:
        raise NotFound(f"job kind {name[:64]!r} does not exist")
    return kinds, chosen


def _form_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    kind: str,
    values: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    kinds, chosen = _kind(principal, kind)
    context = {
        "kinds": kinds,
        "chosen": chosen,
        "fields": job_forms.form_fields(chosen.params_schema) if chosen else [],
        "namespaces": _writable_namespaces(session, principal),
        "values": values or {},
        "error": error,
        "field_errors": job_forms.problems_by_field(error),
        "idempotency_key": (values or {}).get("idempotency_key") or uuid.uuid4().hex,
    }
    return render(request, "job_new.html", context, principal=principal, status_code=status_code)


@router.get("/jobs/new")
def new_job_page(request: Request, session: SessionDep, principal: PagePrincipalDep, kind: str = "") -> Response:
    return _form_page(request, session, principal, kind)


@router.post("/jobs/new")
def submit_job(
    request: Request, form: FormDep, runtime: RuntimeDep, session: SessionDep, principal: PagePrincipalDep
) -> Response:
    kind = str(form.get("kind", ""))
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    _kinds, chosen = _kind(principal, kind)
    if chosen is None:
        raise Invalid("choose a job kind")
    try:
        params = job_forms.read_params(job_forms.form_fields(chosen.params_schema), form)
        job = jobs_api.submit_job(
            body=JobCreate(kind=kind, namespace=str(form.get("namespace", "")), params=params),
            response=Response(),
            runtime=runtime,
            session=session,
            principal=principal,
            idempotency_key=str(form.get("idempotency_key") or "") or None,
        )
    except PatchhubError as exc:
        if exc.status_code in (401, 403):
            raise
        return _form_page(request, session, principal, kind, values, exc.detail, exc.status_code)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, session: SessionDep, principal: PagePrincipalDep) -> Response:
    job = jobs_api.get_job(job_id=job_id, session=session, principal=principal)  # the API's read check
    lines = queries.log_tail(session, job.id, LOG_TAIL_LINES)
    context = {
        "job": job,
        "log": lines,
        "last_log_id": lines[-1].id if lines else 0,
        "can_cancel": not job.status.terminal and can(principal, Role.write, get_namespace(session, job.namespace)),
    }
    return render(request, "job.html", context, principal=principal)


@router.get("/jobs/{job_id}/events")
def job_events(
    request: Request,
    job_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PagePrincipalDep,
    after: Annotated[int, Query(le=MAX_ROW_ID)] = 0,
) -> Response:
    """The API's event stream for this browser's session; ``after`` skips log lines the page already shows."""
    resume = parse_count(request.headers.get("last-event-id", ""))
    return jobs_api.job_events(
        job_id=job_id,
        request=request,
        runtime=runtime,
        session=session,
        principal=principal,
        last_event_id=resume if resume is not None else max(after, 0),
    )


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, _form: FormDep, session: SessionDep, principal: PagePrincipalDep) -> Response:
    jobs_api.cancel_job(job_id=job_id, session=session, principal=principal)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
