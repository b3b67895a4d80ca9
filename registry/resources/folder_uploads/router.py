from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from starlette.concurrency import run_in_threadpool

from registry.deps import PrincipalDep, RuntimeDep, SessionDep
from registry.domain.models import find_model
from registry.errors import Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge, Unauthorized, responses
from registry.models import Role
from registry.openapi import binary_body
from registry.resources.artifacts import service as artifacts
from registry.resources.artifacts.schemas import ArtifactOut
from registry.resources.folder_uploads import service
from registry.resources.folder_uploads.register import complete_upload
from registry.resources.folder_uploads.schemas import FileOut, FolderUploadComplete, FolderUploadOut
from registry.resources.uploads.schemas import UploadCreate
from registry.storage.folder_files import check_path, file_kind

router = APIRouter(prefix="/v1", tags=["folder uploads"])
AUTH_ERRORS = (Unauthorized, Forbidden)


@router.post(
    "/models/{namespace}/{name}/folder-uploads",
    status_code=status.HTTP_201_CREATED,
    response_model=FolderUploadOut,
    responses=responses(*AUTH_ERRORS, NotFound, Invalid),
)
def create_folder_upload(
    namespace: str, name: str, body: UploadCreate, runtime: RuntimeDep, session: SessionDep, principal: PrincipalDep
) -> FolderUploadOut:
    """Start uploading a model folder as one version: PUT each file, then complete it."""
    ns, model = find_model(session, namespace, name)
    principal.require(Role.write, ns, hidden_as=f"model {namespace}/{name}")
    ttl = timedelta(hours=runtime.settings.upload_session_ttl_hours)
    upload = service.create_upload(session, principal, model, body.kind, body.metadata, body.parents, ttl)
    return service.upload_out(session, ns, model, upload)


@router.get("/folder-uploads/{upload_id}", response_model=FolderUploadOut, responses=responses(*AUTH_ERRORS, NotFound))
def get_folder_upload(upload_id: str, session: SessionDep, principal: PrincipalDep) -> FolderUploadOut:
    """The files stored so far: a client that lost its connection sends only the others."""
    ns, model, upload = service.get_upload(session, upload_id)
    principal.require(Role.write, ns, hidden_as=f"folder upload {upload_id[:64]!r}")
    return service.upload_out(session, ns, model, upload)


@router.put(
    "/folder-uploads/{upload_id}/files/{path:path}",
    response_model=FileOut,
    responses=responses(*AUTH_ERRORS, NotFound, Invalid, Conflict, PayloadTooLarge),
    openapi_extra=binary_body(),
)
async def put_folder_file(
    request: Request,
    upload_id: str,
    path: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PrincipalDep,
    sha256: Annotated[str | None, Query(description="the file's sha256; checked when given")] = None,
) -> FileOut:
    """Store one file of the folder, validated while it streams (sending a path again replaces it). Pickle
    files are refused; files that are not safetensors are bounded by ``max_folder_file_bytes``."""
    kind = file_kind(check_path(path))
    ns, _model, upload = await run_in_threadpool(service.get_upload, session, upload_id)
    principal.require(Role.write, ns, hidden_as=f"folder upload {upload_id[:64]!r}")
    service.check_open(upload)
    stored = await service.receive_file(request, runtime, session, upload, path, kind, sha256)
    return service.file_out(stored)


@router.post(
    "/folder-uploads/{upload_id}/complete",
    status_code=status.HTTP_201_CREATED,
    response_model=ArtifactOut,
    responses=responses(*AUTH_ERRORS, NotFound, Invalid, Conflict),
)
def complete_folder_upload(
    upload_id: str, body: FolderUploadComplete, runtime: RuntimeDep, session: SessionDep, principal: PrincipalDep
) -> ArtifactOut:
    """Make the stored files one version, all of them in one transaction, after checking the folder as a
    whole (shard index, tensor names, kind)."""
    ns, model, upload = service.get_upload(session, upload_id)
    principal.require(Role.write, ns, hidden_as=f"folder upload {upload_id[:64]!r}")
    artifact = complete_upload(session, runtime, principal, model, upload, body.files)
    return artifacts.artifact_out(session, ns, model, artifact)


@router.delete(
    "/folder-uploads/{upload_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(*AUTH_ERRORS, NotFound, Conflict),
)
def abort_folder_upload(upload_id: str, session: SessionDep, principal: PrincipalDep) -> None:
    """Abandon a folder upload; its stored files are left to gc (they may be another version's too)."""
    ns, _model, upload = service.get_upload(session, upload_id)
    principal.require(Role.write, ns, hidden_as=f"folder upload {upload_id[:64]!r}")
    service.abort_upload(session, upload)
