"""Completing a folder upload: its stored files, checked as a folder, become one version of the model."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from patchhub.safetensors_format import SafetensorsHeader, TensorInfo
from registry.auth.principal import Principal
from registry.domain.artifacts import check_parents, lock_model, register_artifact
from registry.models import Artifact, ArtifactFile, FolderUpload, Model
from registry.models.artifact import ArtifactKind
from registry.models.artifact_file import ONE_FILE_PATH, SAFETENSORS
from registry.resources.artifacts.files import FolderFile, combined_index, folder_digest
from registry.resources.folder_uploads import service
from registry.resources.folder_uploads.checks import check_folder
from registry.resources.folder_uploads.schemas import FolderFileRef
from registry.runtime import Runtime
from registry.storage.ingest import StoredBlob
from registry.storage.keys import blob_key


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


def complete_upload(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    model: Model,
    upload: FolderUpload,
    listed: list[FolderFileRef],
) -> Artifact:
    """The version made of ``upload``'s files, which must be exactly ``listed``. One complete at a time per
    model (the model is locked first), so a second complete of the same upload sees the first's result; the
    upload is locked next, so an abort (which locks it too) is wholly before or after, never between reading
    its files and registering them."""
    lock_model(session, model)
    service.lock_upload(session, upload)
    service.reread(session, upload)
    service.check_open(upload)
    files = service.manifest(service.stored_files(session, upload), listed)
    kind = ArtifactKind(upload.kind)
    check_folder(kind, files, lambda f: runtime.store.read(blob_key(f.sha256), 0, f.size))
    parents = check_parents(session, upload.meta.get("parents", []), principal)
    artifact = register_folder(
        session,
        model,
        files,
        kind=kind,
        meta=upload.meta.get("metadata", {}),
        parents=parents,
        created_by=principal.token_name,
    )
    service.finish_upload(session, upload, artifact.id)
    return artifact
