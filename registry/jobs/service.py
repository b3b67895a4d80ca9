"""Submitting, reading, listing and cancelling jobs (the API side)."""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patchhub.refs import split_model_id
from registry.auth.principal import Principal
from registry.contract.kinds import JOB_KINDS, JobParams
from registry.contract.kinds.base import is_builtin_dataset
from registry.db.base import utcnow
from registry.db.session import after_commit, transaction
from registry.domain.artifacts import new_id
from registry.domain.job_artifacts import artifact_record
from registry.domain.models import ensure_model
from registry.errors import Conflict, Invalid, NotFound
from registry.jobs.broker import enqueue
from registry.jobs.lifecycle import mark_enqueued
from registry.jobs.schemas import JobOut
from registry.models import Artifact, Job, JobLog, JobStatus, Namespace, Role
from registry.pagination import MAX_PAGE_SIZE, decode_page_token, encode_page_token
from registry.resources.artifacts.files import is_folder
from registry.resources.artifacts.refs import resolve_readable_ref
from registry.runtime import Runtime

ID_PREFIX = re.compile(r"[0-9a-f]{4,32}")
log = logging.getLogger("patchhub.jobs")


def validate_params(kind: str, raw: dict[str, Any]) -> JobParams:
    spec = JOB_KINDS.get(kind)
    if spec is None:
        raise Invalid(f"unknown job kind {kind[:64]!r}; known: {', '.join(sorted(JOB_KINDS))}")
    try:
        return spec.params.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"params.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise Invalid(problems) from None


def submit_job(
    session: Session,
    principal: Principal,
    namespace: Namespace,
    kind: str,
    raw_params: dict[str, Any],
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """Create a queued job, or return the one this idempotency key already made (``created`` False).

    A key names one request: reusing it for a different kind or different params is a Conflict. Concurrent
    submissions with one key insert at most one row (the unique key decides); the others answer with it.
    """
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 128:
        raise Invalid("Idempotency-Key must be 1-128 characters")
    existing = _job_with_key(session, namespace, idempotency_key) if idempotency_key is not None else None
    if existing is not None and existing.kind != kind:
        raise Conflict(f"this Idempotency-Key was already used for a {existing.kind} job; use a new key")
    params = validate_params(kind, raw_params)
    resolved = _resolve_inputs(session, principal, params)
    if existing is not None:  # compared before any output model is created: a refused replay creates nothing
        return _replayed(existing, kind, resolved), False
    # What the submission writes (its output model, the job) is one savepoint: a submission refused after
    # writing (it lost the race for its key to other params) leaves nothing, whoever commits the request.
    with session.begin_nested():
        _lock_namespace_jobs(session, namespace)
        return _record(session, principal, namespace, kind, params, resolved, idempotency_key)


def _lock_namespace_jobs(session: Session, namespace: Namespace) -> None:
    """Take the write lock before the savepoint reads anything (a no-op UPDATE, as ``lock_model`` does).

    On SQLite a SAVEPOINT opens a deferred transaction: a read inside it pins a snapshot, and the first
    write then fails at once ("database is locked", no busy wait) when another submission committed in
    between. Writing first makes it wait its turn instead; on Postgres it serialises one namespace's
    submissions until the request commits.
    """
    session.execute(
        update(Namespace)
        .where(Namespace.id == namespace.id)
        .values(name=Namespace.name)
        .execution_options(synchronize_session=False)
    )


def _record(
    session: Session,
    principal: Principal,
    namespace: Namespace,
    kind: str,
    params: JobParams,
    resolved: dict[str, Any],
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    for field in params.output_model_fields:
        resolved[field] = _output_model(session, principal, resolved[field], kind, params, resolved)
    job = Job(
        id=new_id(),
        namespace_id=namespace.id,
        kind=kind,
        params=resolved,
        queue=params.device.queue,
        status=JobStatus.queued,
        idempotency_key=idempotency_key,
        created_by=principal.token_name,
    )
    try:
        # Added inside the savepoint (begin_nested flushes what is pending first), so losing the race for
        # the key rolls back only the savepoint and the winner can still be read in this transaction.
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        winner = _job_with_key(session, namespace, idempotency_key) if idempotency_key is not None else None
        if winner is None:
            raise
        return _replayed(winner, kind, resolved), False
    return job, True


def _job_with_key(session: Session, namespace: Namespace, idempotency_key: str) -> Job | None:
    return session.scalar(select(Job).where(Job.namespace_id == namespace.id, Job.idempotency_key == idempotency_key))


def _replayed(existing: Job, kind: str, resolved: dict[str, Any]) -> Job:
    if existing.kind != kind:
        raise Conflict(f"this Idempotency-Key was already used for a {existing.kind} job; use a new key")
    if existing.params != resolved:
        changed = sorted(k for k in {*existing.params, *resolved} if existing.params.get(k) != resolved.get(k))
        raise Conflict(
            f"this Idempotency-Key was already used with different params ({', '.join(changed)[:200]}); use a new key"
        )
    return existing


def _resolve_inputs(session: Session, principal: Principal, params: JobParams) -> dict[str, Any]:
    """The params with artifact references as ids (so moving an alias later does not change the job). The
    caller must be able to read every input; output models are checked or created by ``_output_model``."""
    values = params.model_dump(mode="json")
    for field in params.artifact_fields:
        ref = values.get(field)
        if ref is None or (field == "dataset" and is_builtin_dataset(ref)):
            continue
        _namespace, artifact = resolve_readable_ref(session, principal, ref, f"params.{field}")
        expected = params.expected_kinds(field)
        if artifact.kind.value not in expected:
            raise Invalid(
                f"params.{field}: {ref[:80]!r} is a {artifact.kind.value} artifact, not {' or '.join(expected)}"
            )
        if is_folder(artifact):
            raise Invalid(f"params.{field}: {ref[:80]!r} is a model folder; jobs read one-file versions")
        values[field] = artifact.id
    return values


def _output_model(
    session: Session, principal: Principal, ref: str, kind: str, params: JobParams, values: dict[str, Any]
) -> str:
    try:
        namespace_name, name = split_model_id(ref)
    except ValueError as exc:
        raise Invalid(f"output model: {exc}") from None
    owner = session.scalar(select(Namespace).where(Namespace.name == namespace_name))
    if owner is None or not principal.can_read(owner):  # what the token cannot read does not exist for it
        raise Invalid(f"namespace {namespace_name[:64]!r} of the output model does not exist")
    principal.require(Role.write, owner)
    ensure_model(
        session,
        owner,
        name,
        arch=params.output_arch(lambda field: artifact_record(session, values[field]).arch),
        arch_config=dict(values.get("arch_config") or {}),
        description=f"created by {'an' if kind[:1] in 'aeiou' else 'a'} {kind} job",
    )
    return ref


def get_job(session: Session, job_id: str) -> tuple[Namespace, Job]:
    row = session.execute(
        select(Namespace, Job).join(Job, Job.namespace_id == Namespace.id).where(Job.id == job_id)
    ).first()
    if row is None:
        raise NotFound(f"job {job_id[:64]!r} does not exist")
    return row[0], row[1]


def list_jobs(
    session: Session,
    *,
    namespace_id: int | None,
    status: JobStatus | None,
    kind: str | None,
    page_size: int,
    page_token: str | None,
    id_prefix: str | None = None,
) -> tuple[list[tuple[Namespace, Job]], str | None]:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Invalid(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    # Jobs have random ids, so a page token is an offset into the (created_at, id) order.
    query = select(Namespace, Job).join(Job, Job.namespace_id == Namespace.id).order_by(Job.created_at, Job.id)
    if namespace_id is not None:
        query = query.where(Job.namespace_id == namespace_id)
    if status is not None:
        query = query.where(Job.status == status)
    if kind is not None:
        query = query.where(Job.kind == kind)
    if id_prefix is not None:  # the short ids progress bars print
        if not ID_PREFIX.fullmatch(id_prefix):
            raise Invalid("id_prefix must be 4 to 32 lowercase hex digits")
        query = query.where(Job.id.startswith(id_prefix))
    offset = decode_page_token(page_token) or 0
    rows = [(r[0], r[1]) for r in session.execute(query.offset(offset).limit(page_size + 1))]
    next_token = encode_page_token(offset + page_size) if len(rows) > page_size else None
    return rows[:page_size], next_token


def cancel_job(session: Session, job: Job) -> Job:
    """A queued job is cancelled at once; a running one stops at its next progress point."""
    if job.status.terminal:
        raise Conflict(f"job {job.id} is already {job.status.value}")
    if job.status is JobStatus.queued:
        job.status = JobStatus.cancelled
        job.finished_at = utcnow()
        job.message = "cancelled before it started"
    job.cancel_requested = True
    session.flush()
    return job


def read_logs(session: Session, job: Job, after: int, limit: int = 1000) -> list[JobLog]:
    return list(
        session.scalars(
            select(JobLog).where(JobLog.job_id == job.id, JobLog.id > after).order_by(JobLog.id).limit(limit)
        )
    )


def job_out(session: Session, namespace: Namespace, job: Job) -> JobOut:
    return jobs_out(session, [(namespace, job)])[0]


def jobs_out(session: Session, rows: list[tuple[Namespace, Job]]) -> list[JobOut]:
    """The jobs as the API shows them, with one statement for the whole list's outputs."""
    outputs: dict[str, list[str]] = {job.id: [] for _, job in rows}
    if outputs:
        for job_id, artifact_id in session.execute(
            select(Artifact.job_id, Artifact.id)
            .where(Artifact.job_id.in_(list(outputs)))
            .order_by(Artifact.created_at, Artifact.id)
        ):
            outputs[str(job_id)].append(artifact_id)
    return [
        JobOut(
            id=job.id,
            kind=job.kind,
            namespace=namespace.name,
            params=job.params,
            queue=job.queue,
            status=job.status,
            progress=job.progress,
            message=job.message,
            result=job.result,
            error=job.error,
            attempts=job.attempts,
            worker=job.worker,
            cancel_requested=job.cancel_requested,
            outputs=outputs[job.id],
            created_by=job.created_by,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )
        for namespace, job in rows
    ]


def enqueue_once_committed(session: Session, runtime: Runtime, job: Job) -> None:
    """Send the job to its queue once the submitting transaction has committed (a worker that gets the
    message then finds the row), and note when it was sent; if the broker is down the sweeper sends it."""
    job_id, queue = job.id, job.queue

    def send() -> None:
        try:
            enqueue(runtime.settings, job_id, queue)
        except Exception as exc:
            log.warning("could not enqueue job %s now (%s); a worker's sweeper will", job_id, type(exc).__name__)
            return
        with transaction(runtime.session_factory) as marking:
            mark_enqueued(marking, job_id)

    after_commit(session, send)
