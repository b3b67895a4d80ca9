"""Reads only the pages need (choices for filters, lineage in both directions); each result is filtered by the
API's own read rule, so a page never shows what the token could not fetch through /v1."""

from __future__ import annotations

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from registry.auth.principal import Principal
from registry.models import Artifact, ArtifactParent, Job, JobLog, Model, Namespace, Role
from registry.models.artifact import ArtifactKind
from registry.ui.rendering import can

CHOICES_LIMIT = 200


def arch_choices(session: Session, principal: Principal) -> list[str]:
    query = select(Model.arch).where(Model.deleted_at.is_(None)).distinct().order_by(Model.arch)
    if principal.namespace_id is not None:
        query = query.where(Model.namespace_id == principal.namespace_id)
    return list(session.scalars(query.limit(CHOICES_LIMIT)))


def children(session: Session, principal: Principal, artifact_id: str) -> list[tuple[Namespace, Model, Artifact]]:
    """Artifacts made from this one, the newest last."""
    rows = session.execute(
        select(Namespace, Model, Artifact)
        .join(Model, Model.namespace_id == Namespace.id)
        .join(Artifact, Artifact.model_id == Model.id)
        .join(ArtifactParent, ArtifactParent.artifact_id == Artifact.id)
        .where(ArtifactParent.parent_id == artifact_id, Model.deleted_at.is_(None))
        .order_by(Artifact.created_at)
        .limit(CHOICES_LIMIT)
    )
    return [(n, m, a) for n, m, a in rows if can(principal, Role.read, n)]


def jobs_using(session: Session, principal: Principal, artifact_id: str) -> list[tuple[Namespace, Job]]:
    """Jobs whose (resolved) params name this artifact: an artifact id is 32 hex digits, so the quoted id
    appears in the params JSON only as a value."""
    rows = session.execute(
        select(Namespace, Job)
        .join(Job, Job.namespace_id == Namespace.id)
        .where(cast(Job.params, String).like(f'%"{artifact_id}"%'))
        .order_by(Job.created_at)
        .limit(CHOICES_LIMIT)
    )
    return [(n, j) for n, j in rows if can(principal, Role.read, n)]


def artifact_choices(session: Session, principal: Principal, kinds: tuple[ArtifactKind, ...]) -> list[str]:
    """References (``ns/name@vN``) of the newest artifacts of these kinds, for the composition builder."""
    query = (
        select(Namespace.name, Model.name, Artifact.version)
        .join(Model, Model.namespace_id == Namespace.id)
        .join(Artifact, Artifact.model_id == Model.id)
        .where(Artifact.kind.in_(kinds), Model.deleted_at.is_(None))
        .order_by(Artifact.created_at.desc())
        .limit(CHOICES_LIMIT)
    )
    if principal.namespace_id is not None:
        query = query.where(Model.namespace_id == principal.namespace_id)
    return [f"{ns}/{name}@v{version}" for ns, name, version in session.execute(query)]


def log_tail(session: Session, job_id: str, lines: int) -> list[JobLog]:
    """The job's last ``lines`` log lines, oldest first (the caller has checked the job may be read)."""
    newest = session.scalars(select(JobLog).where(JobLog.job_id == job_id).order_by(JobLog.id.desc()).limit(lines))
    return list(reversed(list(newest)))
