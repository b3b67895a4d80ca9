from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from starlette.concurrency import run_in_threadpool

from registry.deps import PrincipalDep, RuntimeDep, SessionDep
from registry.domain.models import find_model
from registry.errors import Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge, Unauthorized, responses
from registry.models import Role
from registry.openapi import binary_body
from registry.resources.artifacts import service as artifacts
from registry.resources.artifacts.schemas import ArtifactOut
from registry.resources.uploads import service
from registry.resources.uploads.schemas import PartOut, PartUrlOut, UploadComplete, UploadCreate, UploadOut
from registry.storage.keys import upload_part_key
from registry.storage.parts import stage_part

router = APIRouter(prefix="/v1", tags=["resumable uploads"])
AUTH_ERRORS = (Unauthorized, Forbidden)


@router.post(
    "/models/{namespace}/{name}/uploads",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadOut,
    responses=responses(*AUTH_ERRORS, NotFound, Invalid),
)
def create_upload(
    namespace: str,
    name: str,
    body: UploadCreate,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> UploadOut:
    """Start a resumable upload: send parts 1..N in any order, then complete it."""
    ns, model = find_model(session, namespace, name)
    principal.require(Role.write, ns, hidden_as=f"model {namespace}/{name}")
    ttl = timedelta(hours=runtime.settings.upload_session_ttl_hours)
    upload = service.create_upload(
        session,
        principal,
        model,
        body.kind,
        body.metadata,
        body.parents,
        ttl,
        store=runtime.store,
        transfer=body.transfer,
        sha256=body.sha256,
    )
    return service.upload_out(session, runtime.store, ns, model, upload)


@router.get("/uploads/{upload_id}", response_model=UploadOut, responses=responses(*AUTH_ERRORS, NotFound))
def get_upload(upload_id: str, runtime: RuntimeDep, session: SessionDep, principal: PrincipalDep) -> UploadOut:
    """The parts stored so far: a client that lost its connection continues after them."""
    ns, model, upload = service.get_upload(session, upload_id)
    principal.require(Role.write, ns, hidden_as=f"upload {upload_id[:64]!r}")
    return service.upload_out(session, runtime.store, ns, model, upload)


@router.get(
    "/uploads/{upload_id}/parts/{number}/url",
    response_model=PartUrlOut,
    responses=responses(*AUTH_ERRORS, NotFound, Conflict),
)
def get_part_url(
    upload_id: str,
    number: Annotated[int, Path(ge=1, le=service.MAX_PARTS, description="1-based part number")],
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> PartUrlOut:
    """A direct upload's part goes to this presigned URL (PUT, no Authorization header; S3 answers with the
    part's ETag). Every part but the last must hold at least 5 MiB."""
    ns, _model, upload = service.get_upload(session, upload_id)
    principal.require(Role.write, ns, hidden_as=f"upload {upload_id[:64]!r}")
    return service.part_url(runtime.store, upload, number)


@router.put(
    "/uploads/{upload_id}/parts/{number}",
    response_model=PartOut,
    responses=responses(*AUTH_ERRORS, NotFound, Invalid, Conflict, PayloadTooLarge),
    openapi_extra=binary_body(),
)
async def put_part(
    request: Request,
    upload_id: str,
    number: Annotated[int, Path(ge=1, le=service.MAX_PARTS, description="1-based part number")],
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PrincipalDep,
    sha256: Annotated[str | None, Query(description="the part's sha256; checked when given")] = None,
) -> PartOut:
    """Store one part (sending a part number again replaces it)."""
    service.check_part_number(number)
    ns, _model, upload = await run_in_threadpool(service.get_upload, session, upload_id)
    principal.require(Role.write, ns, hidden_as=f"upload {upload_id[:64]!r}")
    service.check_open(upload)
    service.check_streamed(upload)
    staged = await stage_part(request, runtime.store, upload_part_key(upload.id, number), sha256)
    part = await run_in_threadpool(service.record_part, session, upload, number, staged.size, staged.sha256)
    return PartOut(number=part.number, size=part.size, sha256=part.sha256)


@router.post(
    "/uploads/{upload_id}/complete",
    status_code=status.HTTP_201_CREATED,
    response_model=ArtifactOut,
    responses=responses(*AUTH_ERRORS, NotFound, Invalid, Conflict, PayloadTooLarge),
)
def complete_upload(
    upload_id: str, body: UploadComplete, runtime: RuntimeDep, session: SessionDep, principal: PrincipalDep
) -> ArtifactOut:
    """Join the parts into one artifact: validated, hashed and deduplicated like a single upload."""
    ns, model, upload = service.get_upload(session, upload_id)
    principal.require(Role.write, ns, hidden_as=f"upload {upload_id[:64]!r}")
    artifact = service.complete_upload(session, runtime, principal, model, upload, body.sha256)
    return artifacts.artifact_out(session, ns, model, artifact)


@router.delete(
    "/uploads/{upload_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(*AUTH_ERRORS, NotFound, Conflict),
)
def abort_upload(upload_id: str, runtime: RuntimeDep, session: SessionDep, principal: PrincipalDep) -> None:
    """Abandon an upload and drop its staged parts."""
    ns, _model, upload = service.get_upload(session, upload_id)
    principal.require(Role.write, ns, hidden_as=f"upload {upload_id[:64]!r}")
    service.abort_upload(session, runtime.store, upload)
