"""Resumable uploads: parts are staged as they arrive, then streamed through the same ingest as a
single-request upload, so validation, hashing and deduplication are one code path."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from registry.auth.principal import Principal
from registry.blobs import BlobStore
from registry.db.base import utcnow
from registry.db.session import after_commit, end_read_phase
from registry.db.upsert import upsert
from registry.domain.artifacts import check_metadata, check_parents, new_id, register_artifact
from registry.domain.models import get_in_live_model
from registry.errors import Conflict, Invalid, NotFound
from registry.models import Artifact, Model, Namespace, Upload, UploadPart
from registry.models.artifact import ArtifactKind
from registry.resources.artifacts.content import check_content
from registry.resources.uploads import direct
from registry.resources.uploads.schemas import PartOut, PartUrlOut, Transfer, UploadOut
from registry.runtime import Runtime
from registry.storage.ingest import Ingest, StoredBlob
from registry.storage.keys import blob_key, is_sha256, upload_part_key

MAX_PARTS = 10_000


def create_upload(
    session: Session,
    principal: Principal,
    model: Model,
    kind: ArtifactKind,
    meta: dict,
    parents: list[str],
    ttl: timedelta,
    *,
    store: BlobStore,
    transfer: Transfer = "streamed",
    sha256: str | None = None,
) -> Upload:
    """``transfer="direct"``: parts go straight to the store where it offers that (S3), else through the API.
    ``sha256``, the whole file's hash declared up front, is what ``complete`` then checks (and lets a direct
    upload be joined at its content address, with no copy)."""
    check_parents(session, parents, principal)
    if sha256 is not None and not is_sha256(sha256):
        raise Invalid("sha256 must be 64 lowercase hex characters")
    upload = Upload(
        id=new_id(),
        model_id=model.id,
        kind=kind,
        expires_at=utcnow() + ttl,
        meta={"metadata": check_metadata(meta), "parents": parents},
    )
    if sha256 is not None:
        upload.meta["sha256"] = sha256
    if transfer == "direct":
        direct.start(store, upload, sha256)
    session.add(upload)
    session.flush()
    return upload


def get_upload(session: Session, upload_id: str) -> tuple[Namespace, Model, Upload]:
    return get_in_live_model(session, Upload, upload_id, "upload")


def check_open(upload: Upload) -> None:
    if upload.artifact_id is not None:
        raise Conflict(f"upload {upload.id} is already complete (artifact {upload.artifact_id})")


def check_streamed(upload: Upload) -> None:
    if direct.of(upload) is not None:
        raise Conflict(f"upload {upload.id} is direct: send its parts to GET /v1/uploads/{upload.id}/parts/N/url")


def part_url(store: BlobStore, upload: Upload, number: int) -> PartUrlOut:
    """Where part ``number`` of a direct upload goes (a presigned PUT)."""
    check_open(upload)
    check_part_number(number)
    target = direct.of(upload)
    if target is None:
        raise Conflict(f"upload {upload.id} is streamed: PUT its parts to /v1/uploads/{upload.id}/parts/N")
    return direct.part_url(store, target, number)


def parts(session: Session, upload: Upload) -> list[UploadPart]:
    return list(
        session.scalars(select(UploadPart).where(UploadPart.upload_id == upload.id).order_by(UploadPart.number))
    )


def record_part(session: Session, upload: Upload, number: int, size: int, sha256: str) -> UploadPart:
    """Note the part just staged, replacing what was noted for its number, in one statement: the same part
    sent twice at once (a retry racing its original) is noted once, as a folder upload's files are."""
    values = {"upload_id": upload.id, "number": number, "size": size, "sha256": sha256}
    values["blob_key"] = upload_part_key(upload.id, number)
    upsert(session, UploadPart, values, conflict=("upload_id", "number"), update=("size", "sha256", "blob_key"))
    part = session.get(UploadPart, (upload.id, number), populate_existing=True)
    assert part is not None
    return part


def check_part_number(number: int) -> None:
    if not 1 <= number <= MAX_PARTS:
        raise Invalid(f"part number must be between 1 and {MAX_PARTS}")


def check_parts_contiguous(stored: list[UploadPart]) -> None:
    if not stored:
        raise Invalid("the upload has no parts")
    numbers = [p.number for p in stored]
    if numbers != list(range(1, len(numbers) + 1)):
        missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        raise Invalid(f"parts must be numbered 1..N without gaps; missing {missing[:20]}")


def iter_parts(store: BlobStore, stored: list[UploadPart]) -> Iterator[bytes]:
    """The parts' bytes in order, each checked against the sha256 recorded when it arrived."""
    for part in stored:
        digest = hashlib.sha256()
        for chunk in store.iter_range(part.blob_key, 0, part.size, chunk_size=4 << 20):
            digest.update(chunk)
            yield chunk
        if digest.hexdigest() != part.sha256:
            raise Invalid(f"stored part {part.number} no longer matches its sha256; upload it again")


def delete_part_blobs(store: BlobStore, stored: list[UploadPart]) -> None:
    for part in stored:
        store.delete(part.blob_key)


def complete_upload(
    session: Session, runtime: Runtime, principal: Principal, model: Model, upload: Upload, sha256: str | None
) -> Artifact:
    """Join the parts into the model's next version; the staged parts are deleted once that is committed.
    Completing one upload from two requests at once makes one version: the other answers 409."""
    check_open(upload)
    sha256 = claimed_sha256(upload, sha256)
    target = direct.of(upload)
    if target is not None:
        stored_parts: list[UploadPart] = []
        stored = direct.join_and_verify(session, runtime, upload, target, sha256)
    else:
        try:
            stored_parts = parts(session, upload)
            check_parts_contiguous(stored_parts)
            # As for a single upload: no transaction (no lock, no pooled connection) while the parts stream.
            end_read_phase(session)
            stored = _ingest_parts(runtime, stored_parts, sha256)
            check_content(
                upload.kind, stored.header, lambda: runtime.store.read(blob_key(stored.sha256), 0, stored.size)
            )
        except Exception:  # its parts gone or emptied under it: say so, not what that made of the read
            _lock_open(session, upload)
            raise
    _lock_open(session, upload)
    artifact = register_artifact(
        session,
        model,
        stored,
        kind=upload.kind,
        meta=upload.meta.get("metadata", {}),
        parents=check_parents(session, upload.meta.get("parents", []), principal),
        created_by=principal.token_name,
    )
    upload.artifact_id = artifact.id
    session.execute(delete(UploadPart).where(UploadPart.upload_id == upload.id))
    session.flush()
    after_commit(session, lambda: delete_part_blobs(runtime.store, stored_parts))  # only once the artifact is safe
    return artifact


def _lock_open(session: Session, upload: Upload) -> None:
    """Take the upload's row for this transaction (a no-op UPDATE, as ``lock_model``: the write lock on
    SQLite, the row lock on Postgres) if it is still open; a 409 if another request completed it meanwhile
    (or 404: aborted). Its bytes were read with no transaction held, so this is where two completions meet."""
    still_open = session.execute(
        update(Upload)
        .where(Upload.id == upload.id, Upload.artifact_id.is_(None))
        .values(kind=Upload.kind)
        .execution_options(synchronize_session=False)
    )
    if still_open.rowcount != 1:  # type: ignore[attr-defined]
        completed = session.scalar(select(Upload.artifact_id).where(Upload.id == upload.id))
        if completed is None:
            raise NotFound(f"upload {upload.id} was aborted meanwhile")
        raise Conflict(f"upload {upload.id} was completed by another request (artifact {completed})")


def claimed_sha256(upload: Upload, sha256: str | None) -> str | None:
    """The sha256 the bytes must have: the one declared when the upload started and/or the one sent now."""
    declared = upload.meta.get("sha256")
    if declared is not None and sha256 is not None and sha256 != declared:
        raise Invalid(f"upload {upload.id} was started for sha256 {declared}, not {sha256}; start a new upload")
    return sha256 if sha256 is not None else declared


def _ingest_parts(runtime: Runtime, stored_parts: list[UploadPart], sha256: str | None) -> StoredBlob:
    ingest = Ingest(
        runtime.store, runtime.header_limits, expected_sha256=sha256, max_bytes=runtime.settings.max_upload_bytes
    )
    try:
        for chunk in iter_parts(runtime.store, stored_parts):
            ingest.write(chunk)
        return ingest.finish()
    except BaseException:
        ingest.abort()
        raise


def abort_upload(session: Session, store: BlobStore, upload: Upload) -> None:
    """Drop the upload; its staged parts go once that is committed. A 409 if a concurrent ``complete`` made
    it a version first: the row is taken (``_lock_open``) before the parts are read."""
    check_open(upload)
    _lock_open(session, upload)
    stored_parts = parts(session, upload)
    target = direct.of(upload)
    session.delete(upload)
    session.flush()
    after_commit(session, lambda: delete_part_blobs(store, stored_parts))
    if target is not None:
        after_commit(session, lambda: direct.abort(store, target))


def upload_out(session: Session, store: BlobStore, namespace: Namespace, model: Model, upload: Upload) -> UploadOut:
    target = direct.of(upload)
    if target is None:
        stored = [PartOut(number=p.number, size=p.size, sha256=p.sha256) for p in parts(session, upload)]
    else:
        stored = direct.parts_out(store, upload, target) if upload.artifact_id is None else []
    return UploadOut(
        id=upload.id,
        model=f"{namespace.name}/{model.name}",
        kind=upload.kind,
        transfer="streamed" if target is None else "direct",
        created_at=upload.created_at,
        expires_at=upload.expires_at,
        parts=stored,
        artifact_id=upload.artifact_id,
    )
