"""A composition's output as files: for a folder base the base's folder with the touched shards composed,
for a one-file base its one composed file (the same bytes as ``/v1/compositions/{id}/file``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from registry.auth.principal import Principal
from registry.deps import PrincipalDep, RuntimeDep, SessionDep
from registry.errors import Forbidden, NotFound, Unauthorized, responses
from registry.models import Artifact, Composition
from registry.resources.artifacts import files
from registry.resources.compositions import folders, service
from registry.resources.compositions.router import download_composition
from registry.resources.compositions.schemas import ComposedFileOut
from registry.runtime import Runtime

router = APIRouter(prefix="/v1/compositions", tags=["compositions"])
AUTH_ERRORS = (Unauthorized, Forbidden)


@router.get(
    "/{composition_id}/files", response_model=list[ComposedFileOut], responses=responses(*AUTH_ERRORS, NotFound)
)
def list_composition_files(composition_id: str, session: SessionDep, principal: PrincipalDep) -> list[ComposedFileOut]:
    """The output's files by path: composed ones (sha256 known once cached, for one-file bases) and the
    base's own files, byte for byte."""
    composition = service.get_composition(session, principal, composition_id)
    return [
        ComposedFileOut(path=f.path, size=f.size, kind=f.kind, sha256=f.sha256, composed=f.composed)
        for f in folders.composition_files(session, composition)
    ]


@router.get(
    "/{composition_id}/files/{path:path}",
    responses=files.FILE_RESPONSES,
)
async def download_composition_file(
    composition_id: str,
    path: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PrincipalDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """One file of the output, streamed, computed on first download and cached; Range supported."""
    composition = await run_in_threadpool(service.get_composition, session, principal, composition_id)
    return await composition_file_response(
        runtime,
        session,
        principal,
        composition,
        path,
        range_header=range_header,
        if_none_match=if_none_match,
        if_range=if_range,
    )


async def composition_file_response(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    composition: Composition,
    path: str,
    *,
    range_header: str | None,
    if_none_match: str | None,
    if_range: str | None,
) -> Response:
    """The response for one file of ``composition``'s output (the caller has authorized the composition):
    a folder base's file (composed shard or base file), or a one-file base's composed file exactly as
    ``GET /v1/compositions/{id}/file`` answers. Unknown paths raise ``FileNotInArtifact`` (a 404)."""
    base = await run_in_threadpool(session.get, Artifact, composition.base_id)
    assert base is not None
    if files.is_folder(base):
        return await folders.folder_file_response(
            runtime,
            session,
            composition,
            path,
            range_header=range_header,
            if_none_match=if_none_match,
            if_range=if_range,
        )
    await run_in_threadpool(files.get_file, session, base, path)  # a one-file base has one path
    return await download_composition(
        composition.id,
        runtime,
        session,
        principal,
        range_header=range_header,
        if_none_match=if_none_match,
        if_range=if_range,
    )
