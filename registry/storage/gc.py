"""Garbage collection: blobs no artifact points at, expired resumable uploads, stale staged bytes.

Blobs younger than the grace period are kept: an upload commits its blob moments before the artifact
row, so a fresh unreferenced blob may be an upload in flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from registry.blobs import BlobStore
from registry.db.base import utcnow
from registry.db.session import transaction
from registry.models import Artifact, Upload, UploadPart
from registry.storage.keys import BLOB_PREFIX, UPLOAD_PREFIX, sha256_of_key


@dataclass
class GcReport:
    blobs_deleted: int = 0
    bytes_freed: int = 0
    uploads_expired: int = 0
    staged_parts_deleted: int = 0
    staging_cleaned: int = 0


def collect_garbage(
    factory: sessionmaker[Session], store: BlobStore, grace: timedelta, *, dry_run: bool = False
) -> GcReport:
    report = GcReport()
    cutoff = utcnow() - grace
    with transaction(factory) as session:
        expired = list(session.scalars(select(Upload).where(Upload.expires_at < utcnow())))
        for upload in expired:
            report.uploads_expired += 1
            if not dry_run:
                session.delete(upload)
        referenced = set(session.scalars(select(Artifact.sha256).distinct()))
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
    return report
