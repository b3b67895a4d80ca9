"""The files of a version: a one-file version lists ``model.safetensors``, a folder version all its files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from registry.deps import PrincipalDep, RuntimeDep, SessionDep
from registry.domain.artifacts import get_artifact
from registry.errors import Forbidden, NotFound, Unauthorized, responses
from registry.models import Role
from registry.resources.artifacts import files
from registry.resources.folder_uploads.schemas import FileOut
from registry.storage.downloads import file_headers, not_modified

router = APIRouter(prefix="/v1", tags=["artifacts"])
AUTH_ERRORS = (Unauthorized, Forbidden)


@router.get("/artifacts/{artifact_id}/files", response_model=list[FileOut], responses=responses(*AUTH_ERRORS, NotFound))
def list_artifact_files(artifact_id: str, session: SessionDep, principal: PrincipalDep) -> list[FileOut]:
    """Every file of the version, by path, with its size and sha256."""
    ns, _model, artifact = get_artifact(session, artifact_id)
    principal.require(Role.read, ns, hidden_as=f"artifact {artifact_id[:64]!r}")
    return [
        FileOut(path=f.path, size=f.size, sha256=f.sha256, kind=f.kind) for f in files.list_files(session, artifact)
    ]


@router.get(
    "/artifacts/{artifact_id}/files/{path:path}",
    responses=files.FILE_RESPONSES,
)
def download_artifact_file(
    artifact_id: str,
    path: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PrincipalDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """One file of the version, streamed; ETag is its sha256, and Range requests read parts of it."""
    ns, _model, artifact = get_artifact(session, artifact_id)
    principal.require(Role.read, ns, hidden_as=f"artifact {artifact_id[:64]!r}")
    found = files.get_file(session, artifact, path)
    etag = f'"{found.sha256}"'
    headers = {**file_headers(etag, files.download_name(path)), "X-Patchhub-Sha256": found.sha256}
    if not_modified(etag, if_none_match):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return files.file_response(runtime.store, found, headers, range_header=range_header, if_range=if_range)
