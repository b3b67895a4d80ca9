"""Artifacts as the API and the jobs both change them: register verified bytes as a model's next version,
read one by id, check parents and metadata, merge metadata."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from registry.auth.principal import Principal
from registry.db.base import utcnow
from registry.db.upsert import upsert
from registry.domain.models import get_in_live_model
from registry.errors import Invalid, NotFound
from registry.models import Alias, Artifact, ArtifactParent, Job, Model, Namespace
from registry.models.artifact import ArtifactKind
from registry.models.artifact_file import one_file_row
from registry.storage.ingest import StoredBlob

LATEST = "latest"
MAX_METADATA_BYTES = 256 * 1024


def new_id() -> str:
    return uuid.uuid4().hex


def check_parents(session: Session, parent_ids: list[str], reader: Principal | None = None) -> list[Artifact]:
    """The parents, each of which ``reader`` must be able to read (one it cannot read does not exist for it);
    None is the service itself (a job registering its outputs)."""
    if len(set(parent_ids)) != len(parent_ids):
        raise Invalid("parents must not repeat")
    parents = []
    for parent_id in parent_ids:
        try:
            namespace, _model, parent = get_artifact(session, parent_id)
        except NotFound:
            namespace = None
        if namespace is None or (reader is not None and not reader.can_read(namespace)):
            raise Invalid(f"parent artifact {parent_id[:64]!r} does not exist")
        parents.append(parent)
    return parents


def check_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(meta)) > MAX_METADATA_BYTES:
        raise Invalid(f"metadata is larger than {MAX_METADATA_BYTES} bytes")
    return meta


def register_artifact(
    session: Session,
    model: Model,
    stored: StoredBlob,
    *,
    kind: ArtifactKind,
    meta: dict[str, Any],
    parents: list[Artifact],
    job_id: str | None = None,
    job_output: str | None = None,
    created_by: str | None = None,
) -> Artifact:
    """Make verified bytes visible as the model's next version and move ``latest`` onto it. ``created_by``
    defaults to the submitter of ``job_id``."""
    lock_model(session, model)
    version = (session.scalar(select(func.max(Artifact.version)).where(Artifact.model_id == model.id)) or 0) + 1
    header = stored.header
    artifact = Artifact(
        id=new_id(),
        model_id=model.id,
        version=version,
        kind=kind,
        sha256=stored.sha256,
        size=stored.size,
        parameter_count=header.parameter_count,
        tensor_count=len(header.tensors),
        tensor_index={name: t.to_json() for name, t in header.tensors.items()},
        file_metadata=header.metadata,
        meta=check_metadata(meta),
        job_id=job_id,
        job_output=job_output,
        created_by=created_by if created_by is not None else _job_submitter(session, job_id),
    )
    session.add(artifact)
    session.flush()
    session.add(one_file_row(artifact))
    for position, parent in enumerate(parents):
        session.add(ArtifactParent(artifact_id=artifact.id, parent_id=parent.id, position=position))
    point_alias(session, model, LATEST, artifact)
    session.flush()
    return artifact


def lock_model(session: Session, model: Model) -> None:
    """Serialise the writers of one model's versions until the transaction ends.

    A no-op UPDATE, not ``SELECT ... FOR UPDATE``: on Postgres both take the row lock, but SQLite ignores
    FOR UPDATE, while its first write in a transaction takes the database write lock (waiting up to
    busy_timeout). The driver opens no transaction for plain reads, so that transaction holds no older
    snapshot: what is read after this lock is everything committed, and the next version is max + 1.
    """
    session.execute(
        update(Model).where(Model.id == model.id).values(name=Model.name).execution_options(synchronize_session=False)
    )


def _job_submitter(session: Session, job_id: str | None) -> str:
    return (session.scalar(select(Job.created_by).where(Job.id == job_id)) or "") if job_id else ""


def point_alias(session: Session, model: Model, alias: str, artifact: Artifact) -> None:
    # One INSERT ... ON CONFLICT DO UPDATE: two requests creating the same alias both succeed (the later
    # one wins) instead of both reading "absent" and one inserting a duplicate.
    upsert(
        session,
        Alias,
        {"model_id": model.id, "name": alias, "artifact_id": artifact.id, "updated_at": utcnow()},
        conflict=("model_id", "name"),
        update=("artifact_id", "updated_at"),
    )


def get_artifact(session: Session, artifact_id: str) -> tuple[Namespace, Model, Artifact]:
    return get_in_live_model(session, Artifact, artifact_id, "artifact")


def merge_metadata(session: Session, artifact: Artifact, patch: dict[str, Any]) -> None:
    merged = {**artifact.meta, **patch}
    artifact.meta = check_metadata({k: v for k, v in merged.items() if v is not None})
    session.flush()
