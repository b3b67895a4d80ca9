"""Garbage collection: blobs no artifact points at, expired resumable uploads, stale staged bytes, and
cached composition outputs beyond their size budget.

Blobs younger than the grace period are kept: an upload commits its blob moments before the artifact
row, so a fresh unreferenced blob may be an upload in flight. Cached compositions are only a cache (the
recipe recomputes the same bytes), so over budget the least recently read go first, whatever their age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from registry.blobs import BlobStore
from registry.db.base import utcnow
from registry.db.session import transaction
from registry.models import Artifact, ArtifactFile, Composition, FolderUpload, FolderUploadFile, Upload, UploadPart
from registry.storage.keys import BLOB_PREFIX, COMPOSITION_PREFIX, UPLOAD_PREFIX, composition_of_key, sha256_of_key


@dataclass
class GcReport:
    blobs_deleted: int = 0
    bytes_freed: int = 0
    uploads_expired: int = 0
    staged_parts_deleted: int = 0
    staging_cleaned: int = 0
    cached_compositions_deleted: int = 0
    cached_composition_bytes_freed: int = 0


def collect_garbage(
    factory: sessionmaker[Session],
    store: BlobStore,
    grace: timedelta,
    *,
    dry_run: bool = False,
    composition_cache_bytes: int | None = None,
) -> GcReport:
    report = GcReport()
    cutoff = utcnow() - grace
    with transaction(factory) as session:
        expired = list(session.scalars(select(Upload).where(Upload.expires_at < utcnow())))
        for upload in expired:
            report.uploads_expired += 1
            if not dry_run:
                session.delete(upload)
        for folder_upload in session.scalars(select(FolderUpload).where(FolderUpload.expires_at < utcnow())):
            report.uploads_expired += 1
            if not dry_run:
                session.delete(folder_upload)
        session.flush()
        # A folder version's sha256 is a digest, its files are the blobs; a live folder upload's files are
        # kept until it completes or expires.
        referenced = set(session.scalars(select(Artifact.sha256).distinct()))
        referenced |= set(session.scalars(select(ArtifactFile.sha256).distinct()))
        referenced |= set(session.scalars(select(FolderUploadFile.sha256).distinct()))
        live_parts = set(session.scalars(select(UploadPart.blob_key)))
        if dry_run:
            session.rollback()
    for info in store.list(BLOB_PREFIX):
        sha256 = sha256_of_key(info.key)
        if sha256 is not None and sha256 not in referenced and info.modified < cutoff:
            report.blobs_deleted += 1
            report.bytes_freed += info.size
            if not dry_run:
                store.delete(info.key)
    for info in store.list(UPLOAD_PREFIX):
        if info.key not in live_parts and info.modified < cutoff:
            report.staged_parts_deleted += 1
            if not dry_run:
                store.delete(info.key)
    if not dry_run:
        report.staging_cleaned = store.clean_staging(grace)
    if composition_cache_bytes is not None:
        _trim_composition_cache(factory, store, composition_cache_bytes, report, dry_run=dry_run)
    return report


def _trim_composition_cache(
    factory: sessionmaker[Session], store: BlobStore, budget: int, report: GcReport, *, dry_run: bool
) -> None:
    """Delete cached composition outputs, least recently read first, until they fit in ``budget`` bytes."""
    cached = list(store.list(COMPOSITION_PREFIX))
    total = sum(info.size for info in cached)
    if total <= budget:
        return
    ids = [composition_of_key(info.key) for info in cached]
    last_read = {}
    with transaction(factory) as session:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = session.execute(select(Composition.id, Composition.last_read_at).where(Composition.id.in_(chunk)))
            last_read.update({composition_id: read_at for composition_id, read_at in rows if read_at is not None})
    for info in sorted(cached, key=lambda i: last_read.get(composition_of_key(i.key) or "", i.modified)):
        if total <= budget:
            break
        total -= info.size
        report.cached_compositions_deleted += 1
        report.cached_composition_bytes_freed += info.size
        if not dry_run:
            store.delete(info.key)
