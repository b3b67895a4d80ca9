"""The files of a snapshot and their bytes: a version's own files, or a composition's (the composed weights and the
base's other files). The one place that knows how a version or a composition holds its files."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Response, status
from sqlalchemy.orm import Session

from registry.auth.principal import Principal
from registry.resources.compositions.router import download_composition
from registry.resources.hf.snapshots import Snapshot
from registry.runtime import Runtime
from registry.storage.downloads import not_modified, stored_file_response
from registry.storage.keys import blob_key

WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int
    sha256: str | None  # None: composed bytes not computed yet
    etag: str  # unquoted; the file's sha256, or the composition's id for composed bytes

    @property
    def quoted_etag(self) -> str:
        return f'"{self.etag}"'


def snapshot_files(session: Session, snapshot: Snapshot) -> list[RepoFile]:
    """The snapshot's files, sorted by path."""
    composition = snapshot.composition
    if composition is not None:
        return [RepoFile(WEIGHTS_FILE, composition.size, composition.sha256, composition.id)]
    version = snapshot.version
    return [RepoFile(WEIGHTS_FILE, version.size, version.sha256, version.sha256)]


async def file_response(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    snapshot: Snapshot,
    file: RepoFile,
    headers: dict[str, str],
    *,
    range_header: str | None,
    if_none_match: str | None,
    if_range: str | None,
) -> Response:
    """The file's bytes (200, or 206 for a Range), with ``headers``; composed bytes come from the composition
    service (computed once, cached), exactly what GET /v1/compositions/{id}/file sends."""
    if snapshot.composition is not None:
        response = await download_composition(
            snapshot.composition.id,
            runtime,
            session,
            principal,
            range_header=range_header,
            if_none_match=if_none_match,
            if_range=if_range,
        )
        response.headers.update(headers)
        return response
    if not_modified(file.quoted_etag, if_none_match):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    assert file.sha256 is not None
    return stored_file_response(
        runtime.store, blob_key(file.sha256), file.size, headers, range_header=range_header, if_range=if_range
    )
