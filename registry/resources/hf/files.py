"""The files of a snapshot and their bytes: a version's own files, or a composition's (the composed weights and the
base's other files). The one place that knows how a version or a composition holds its files."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Response, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from registry.resources.artifacts import files as version_files
from registry.resources.compositions import folders as composed
from registry.resources.compositions.downloads import composition_file_response
from registry.resources.hf.snapshots import Snapshot
from registry.runtime import Runtime
from registry.storage.downloads import not_modified

# What a Hub client reads from a resolve answer, redirected or not (a redirect's other headers are the store's).
HUB_HEADERS = frozenset({"ETag", "X-Linked-Etag", "X-Linked-Size", "X-Repo-Commit"})


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
    if composition is None:
        return [
            RepoFile(f.path, f.size, f.sha256, f.sha256) for f in version_files.list_files(session, snapshot.version)
        ]
    one_file = not version_files.is_folder(snapshot.version)
    return [
        RepoFile(f.path, f.size, f.sha256, _composed_etag(composition.id, f, one_file))
        for f in composed.composition_files(session, composition)
    ]


def _composed_etag(composition_id: str, file: composed.ComposedFile, one_file: bool) -> str:
    if not file.composed:
        assert file.sha256 is not None
        return file.sha256  # the base's own bytes
    return composition_id if one_file else composed.shard_etag(composition_id, file.path).strip('"')


async def file_response(
    runtime: Runtime,
    session: Session,
    snapshot: Snapshot,
    file: RepoFile,
    headers: dict[str, str],
    *,
    range_header: str | None,
    if_none_match: str | None,
    if_range: str | None,
) -> Response:
    """The file's bytes (200, or 206 for a Range), with ``headers``, or a redirect to the store. Composed bytes
    come from the composition service (computed once, cached): what /v1/compositions/{id}/file[s/{path}] sends.
    The snapshot was resolved for this caller, so what it names is readable."""
    if not_modified(file.quoted_etag, if_none_match):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    composition = snapshot.composition
    if composition is None:
        row = await run_in_threadpool(version_files.get_file, session, snapshot.version, file.path)
        return version_files.file_response(runtime.store, row, headers, range_header=range_header, if_range=if_range)
    if not version_files.is_folder(snapshot.version):
        return await composition_file_response(
            runtime, session, composition, headers, range_header=range_header, if_range=if_range
        )
    response = await composed.folder_file_response(
        runtime, session, composition, file.path, range_header=range_header, if_none_match=None, if_range=if_range
    )
    redirected = response.status_code == status.HTTP_302_FOUND  # to the store: its answer describes the body
    response.headers.update({k: v for k, v in headers.items() if k in HUB_HEADERS} if redirected else headers)
    return response
