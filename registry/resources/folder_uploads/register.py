"""Registering a folder's stored files as one version of a model."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from patchhub.safetensors_format import SafetensorsHeader, TensorInfo
from registry.domain.artifacts import register_artifact
from registry.models import Artifact, ArtifactFile, Model
from registry.models.artifact import ArtifactKind
from registry.models.artifact_file import ONE_FILE_PATH, SAFETENSORS
from registry.resources.artifacts.files import FolderFile, combined_index, folder_digest
from registry.storage.ingest import StoredBlob


def register_folder(
    session: Session,
    model: Model,
    files: list[FolderFile],
    *,
    kind: ArtifactKind,
    meta: dict[str, Any],
    parents: list[Artifact],
    created_by: str,
) -> Artifact:
    """The model's next version holding ``files`` (checked by ``check_folder``). A folder of one file is a
    one-file version (its sha256 is the file's); several files get the folder digest as their sha256."""
    index = combined_index(files)
    tensors = {
        name: TensorInfo(name, entry["dtype"], tuple(entry["shape"]), *entry["data_offsets"])
        for name, entry in index.items()
    }
    shards = [file for file in files if file.kind == SAFETENSORS]
    single = files[0] if len(files) == 1 else None
    stored = StoredBlob(
        sha256=single.sha256 if single else folder_digest(files),
        size=sum(file.size for file in files),
        header=SafetensorsHeader(0, tensors, dict(shards[0].file_metadata) if len(shards) == 1 else {}),
        deduplicated=True,
    )
    artifact = register_artifact(session, model, stored, kind=kind, meta=meta, parents=parents, created_by=created_by)
    if single is not None and single.path == ONE_FILE_PATH:
        return artifact  # exactly what a one-file upload of the same bytes makes
    artifact.file_count = len(files)
    artifact.tensor_index = index
    placeholder = session.get(ArtifactFile, (artifact.id, ONE_FILE_PATH))  # what register_artifact wrote
    if placeholder is not None:
        session.delete(placeholder)
        session.flush()
    session.add_all(
        ArtifactFile(
            artifact_id=artifact.id,
            path=file.path,
            sha256=file.sha256,
            size=file.size,
            kind=file.kind,
            tensor_index=file.tensor_index,
            file_metadata=file.file_metadata,
        )
        for file in files
    )
    session.flush()
    return artifact
