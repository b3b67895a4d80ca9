"""What a job reads of its input artifacts, and whether it registered an output already."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.domain.artifacts import get_artifact
from registry.models import Artifact
from registry.models.artifact import ArtifactKind


@dataclass(frozen=True)
class ArtifactRecord:
    """An artifact as a job reads it: where its bytes are and what its model says they are."""

    id: str
    model: str  # namespace/name
    arch: str  # the model's architecture
    arch_config: dict[str, Any]
    kind: ArtifactKind
    file_metadata: dict[str, str]
    meta: dict[str, Any]
    sha256: str
    size: int


def artifact_record(session: Session, artifact_id: str) -> ArtifactRecord:
    namespace, model, artifact = get_artifact(session, artifact_id)
    return ArtifactRecord(
        id=artifact.id,
        model=f"{namespace.name}/{model.name}",
        arch=model.arch,
        arch_config=dict(model.arch_config),
        kind=artifact.kind,
        file_metadata=dict(artifact.file_metadata),
        meta=dict(artifact.meta),
        sha256=artifact.sha256,
        size=artifact.size,
    )


def job_output(session: Session, job_id: str, output: str) -> str | None:
    """The id of the artifact job ``job_id`` registered as ``output``, if it did already."""
    return session.scalar(select(Artifact.id).where(Artifact.job_id == job_id, Artifact.job_output == output))
