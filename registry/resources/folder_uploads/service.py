"""Folder uploads: each file is validated and stored (content-addressed) as it arrives; ``complete`` checks
the folder as a whole and registers every file as one version in one transaction, so a folder is visible
with all its files or not at all."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from registry.auth.principal import Principal
from registry.db.base import utcnow
from registry.db.session import end_read_phase
from registry.db.upsert import upsert
from registry.domain.artifacts import check_metadata, check_parents, new_id
from registry.domain.models import get_in_live_model
from registry.errors import Conflict, Invalid, NotFound
from registry.models import FolderUpload, FolderUploadFile, Model, Namespace
from registry.models.artifact import ArtifactKind
from registry.models.artifact_file import SAFETENSORS
from registry.resources.artifacts.files import FolderFile
from registry.resources.folder_uploads.schemas import FileOut, FolderFileRef, FolderUploadOut
from registry.runtime import Runtime
from registry.storage.folder_files import MAX_FOLDER_FILES, OtherFileIngest
from registry.storage.ingest import Ingest
from registry.storage.streaming import feed_request_body, ingest_request_body

FOLDER_KINDS = (ArtifactKind.base, ArtifactKind.checkpoint, ArtifactKind.pruned)


def create_upload(
    session: Session,
    principal: Principal,
    model: Model,
    kind: ArtifactKind,
    meta: dict,
    parents: list[str],
    ttl: timedelta,
) -> FolderUpload:
    if kind not in FOLDER_KINDS:
        raise Invalid(
            f"a {kind.value} artifact is one safetensors file, not a folder: push it with "
            "`patchhub push FILE ns/name` (PUT /v1/models/{namespace}/{name}/artifacts)"
        )
    check_parents(session, parents, principal)
    upload = FolderUpload(
        id=new_id(),
        model_id=model.id,
        kind=kind.value,
        expires_at=utcnow() + ttl,
        meta={"metadata": check_metadata(meta), "parents": parents},
    )
    session.add(upload)
    session.flush()
    return upload


def get_upload(session: Session, upload_id: str) -> tuple[Namespace, Model, FolderUpload]:
    return get_in_live_model(session, FolderUpload, upload_id, "folder upload")


def check_open(upload: FolderUpload) -> None:
    if upload.artifact_id is not None:
        raise Conflict(f"folder upload {upload.id} is already complete (artifact {upload.artifact_id})")


def stored_files(session: Session, upload: FolderUpload) -> list[FolderUploadFile]:
    return list(
        session.scalars(
            select(FolderUploadFile).where(FolderUploadFile.upload_id == upload.id).order_by(FolderUploadFile.path)
        )
    )


def check_room(session: Session, upload: FolderUpload, path: str) -> None:
    if (
        session.get(FolderUploadFile, (upload.id, path)) is None
        and len(stored_files(session, upload)) >= MAX_FOLDER_FILES
    ):
        raise Invalid(f"a folder holds at most {MAX_FOLDER_FILES} files")


async def receive_file(
    request: Request,
    runtime: Runtime,
    session: Session,
    upload: FolderUpload,
    path: str,
    kind: str,
    expected_sha256: str | None,
) -> FolderFile:
    """Store the request body as the file at ``path`` of ``upload`` and record it. No transaction is held
    while the bytes stream. The room is checked before (a full folder reads no body) and again under the
    upload's lock when recording (files sent at once all pass the first check)."""
    await run_in_threadpool(check_room, session, upload, path)
    await run_in_threadpool(end_read_phase, session)
    stored = await store_file(request, runtime, path, kind, expected_sha256)
    await run_in_threadpool(record_file, session, upload, stored)
    return stored


async def store_file(
    request: Request, runtime: Runtime, path: str, kind: str, expected_sha256: str | None
) -> FolderFile:
    """Validate and store the request body as the file at ``path``: safetensors through the upload ingest,
    anything else as size-limited bytes that are never parsed."""
    if kind == SAFETENSORS:
        ingest = await run_in_threadpool(
            Ingest,
            runtime.store,
            runtime.header_limits,
            expected_sha256=expected_sha256,
            max_bytes=runtime.settings.max_upload_bytes,
        )
        stored = await ingest_request_body(request, ingest)
        index = {name: info.to_json() for name, info in stored.header.tensors.items()}
        return FolderFile(path, stored.sha256, stored.size, SAFETENSORS, index, dict(stored.header.metadata))
    other = OtherFileIngest(
        runtime.store, path, expected_sha256=expected_sha256, max_bytes=runtime.settings.max_folder_file_bytes
    )
    try:
        await feed_request_body(request, other.write)
        sha256, size = await run_in_threadpool(other.finish)
    except BaseException:
        await run_in_threadpool(other.abort)
        raise
    return FolderFile(path, sha256, size, kind, {}, {})


def record_file(session: Session, upload: FolderUpload, file: FolderFile) -> None:
    """Remember a stored file (sending a path again replaces it; two sends of one path at once both land), if
    the folder still has room once this upload's other writers are done. A refused file's bytes are left to
    gc: they are content-addressed, so another upload in flight may be about to name the same blob."""
    lock_upload(session, upload)
    check_room(session, upload, file.path)
    values = {
        "upload_id": upload.id,
        "path": file.path,
        "sha256": file.sha256,
        "size": file.size,
        "kind": file.kind,
        "tensor_index": file.tensor_index,
        "file_metadata": file.file_metadata,
        "created_at": utcnow(),
    }
    upsert(session, FolderUploadFile, values, conflict=("upload_id", "path"), update=tuple(values)[2:])
    session.flush()


def lock_upload(session: Session, upload: FolderUpload) -> None:
    """Serialise the writers of one folder upload until the transaction ends: a no-op UPDATE, which takes the
    row lock on Postgres and the write lock on SQLite (see ``lock_model``), so what is read after it is
    everything committed."""
    session.execute(
        update(FolderUpload)
        .where(FolderUpload.id == upload.id)
        .values(kind=FolderUpload.kind)
        .execution_options(synchronize_session=False)
    )


def reread(session: Session, upload: FolderUpload) -> None:
    """Load the upload's row again after taking a lock (what another request committed meanwhile); a 404
    if it was aborted meanwhile."""
    current = session.scalar(
        select(FolderUpload).where(FolderUpload.id == upload.id).execution_options(populate_existing=True)
    )
    if current is None:
        raise NotFound(f"folder upload {upload.id} was aborted meanwhile")


def abort_upload(session: Session, upload: FolderUpload) -> None:
    """Drop an open upload; a 409 if a concurrent ``complete`` made it a version first (it is locked before
    it is looked at, as ``complete`` locks it before marking it done)."""
    lock_upload(session, upload)
    reread(session, upload)
    check_open(upload)
    session.delete(upload)
    session.flush()


def manifest(stored: list[FolderUploadFile], listed: list[FolderFileRef]) -> list[FolderFile]:
    """The stored files, if they are exactly the ones the client lists (same paths, same sha256s)."""
    if not listed:
        raise Invalid("a folder version needs at least one file")
    wanted = {ref.path: ref.sha256 for ref in listed}
    if len(wanted) != len(listed):
        raise Invalid("files must not list a path twice")
    have = {row.path: row for row in stored}
    missing = sorted(set(wanted) - set(have))
    if missing:
        raise Invalid(f"these files were never stored (upload them, then complete): {missing[:20]}")
    extra = sorted(set(have) - set(wanted))
    if extra:
        raise Invalid(f"these stored files are not in the list: {extra[:20]}; list them or upload again")
    changed = sorted(path for path, sha in wanted.items() if have[path].sha256 != sha)
    if changed:
        raise Invalid(f"these files were stored with other bytes than the sha256 listed: {changed[:20]}")
    return [
        FolderFile(row.path, row.sha256, row.size, row.kind, dict(row.tensor_index), dict(row.file_metadata))
        for row in stored
    ]


def finish_upload(session: Session, upload: FolderUpload, artifact_id: str) -> None:
    """Mark the upload complete, unless a concurrent ``complete`` did first (then this one's version is
    rolled back with the request: one folder upload makes one version)."""
    claimed = session.execute(
        update(FolderUpload)
        .where(FolderUpload.id == upload.id, FolderUpload.artifact_id.is_(None))
        .values(artifact_id=artifact_id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"folder upload {upload.id} was completed or aborted by another request meanwhile")
    session.execute(delete(FolderUploadFile).where(FolderUploadFile.upload_id == upload.id))
    session.flush()
    session.refresh(upload)


def file_out(row: FolderUploadFile | FolderFile) -> FileOut:
    return FileOut(path=row.path, size=row.size, sha256=row.sha256, kind=row.kind)


def upload_out(session: Session, namespace: Namespace, model: Model, upload: FolderUpload) -> FolderUploadOut:
    return FolderUploadOut(
        id=upload.id,
        model=f"{namespace.name}/{model.name}",
        kind=ArtifactKind(upload.kind),
        created_at=upload.created_at,
        expires_at=upload.expires_at,
        files=[file_out(row) for row in stored_files(session, upload)],
        artifact_id=upload.artifact_id,
    )
