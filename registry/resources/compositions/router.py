from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from starlette.concurrency import run_in_threadpool

from registry.deps import PrincipalDep, RuntimeDep, SessionDep
from registry.errors import Forbidden, Invalid, NotFound, RangeNotSatisfiable, Unauthorized, responses
from registry.resources.compositions import service
from registry.resources.compositions.downloads import composition_file_response
from registry.resources.compositions.folders import require_one_file_base
from registry.resources.compositions.schemas import CompositionCreate, CompositionOut
from registry.storage.downloads import file_headers, not_modified

router = APIRouter(prefix="/v1/compositions", tags=["compositions"])
AUTH_ERRORS = (Unauthorized, Forbidden)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CompositionOut,
    responses={**responses(*AUTH_ERRORS, NotFound, Invalid), 200: {"description": "the recipe already exists"}},
)
def create_composition(
    body: CompositionCreate, response: Response, runtime: RuntimeDep, session: SessionDep, principal: PrincipalDep
) -> CompositionOut:
    """Register ``base + sum(scale_i * signature_i)``; the id is the canonical recipe hash, so the same recipe
    (in any patch order) is the same composition. Mismatched signatures are a 422 naming the tensors."""
    composition, created = service.create_composition(session, runtime, principal, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return service.composition_out(
        session, composition, service.stored_output(session, runtime, composition) is not None
    )


@router.get("/{composition_id}", response_model=CompositionOut, responses=responses(*AUTH_ERRORS, NotFound))
def get_composition(
    composition_id: str, runtime: RuntimeDep, session: SessionDep, principal: PrincipalDep
) -> CompositionOut:
    composition = service.get_composition(session, principal, composition_id)
    return service.composition_out(
        session, composition, service.stored_output(session, runtime, composition) is not None
    )


@router.get(
    "/{composition_id}/file",
    responses={
        **responses(*AUTH_ERRORS, NotFound, RangeNotSatisfiable),
        200: {"content": {"application/octet-stream": {}}},
        206: {"description": "partial content (Range)"},
        304: {"description": "not modified (If-None-Match)"},
    },
)
async def download_composition(
    composition_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PrincipalDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """The composed safetensors file, streamed. Computed from the base on first download (and cached);
    later downloads and Range requests read the cached bytes. ETag is the composition id."""
    composition = await run_in_threadpool(service.get_composition, session, principal, composition_id)
    await run_in_threadpool(require_one_file_base, session, composition)
    etag = f'"{composition.id}"'
    headers = file_headers(etag, f"composition-{composition.id[:12]}.safetensors")
    if not_modified(etag, if_none_match):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return await composition_file_response(
        runtime, session, composition, headers, range_header=range_header, if_range=if_range
    )
