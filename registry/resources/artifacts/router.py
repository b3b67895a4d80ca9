from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from registry.deps import PrincipalDep, RuntimeDep, SessionDep
from registry.domain import artifacts
from registry.domain.models import find_model
from registry.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    RangeNotSatisfiable,
    Unauthorized,
    responses,
)
from registry.field_limits import MAX_PARENTS
from registry.json_limits import nested_deeper_than, storable_problem
from registry.models import Role
from registry.models.artifact import ArtifactKind
from registry.openapi import binary_body
from registry.pagination import PageSize
from registry.resources.artifacts import service
from registry.resources.artifacts.files import require_one_file
from registry.resources.artifacts.schemas import (
    AliasOut,
    AliasSet,
    ArtifactOut,
    ArtifactPage,
    MetadataPatch,
    TensorIndexOut,
)
from registry.resources.artifacts.upload import receive_artifact
from registry.storage.downloads import file_headers, not_modified, stored_file_response
from registry.storage.keys import blob_key

router = APIRouter(prefix="/v1", tags=["artifacts"])
AUTH_ERRORS = (Unauthorized, Forbidden)
METADATA_HEADER = "X-Patchhub-Metadata"


def parse_metadata_header(value: str | None, max_depth: int) -> dict[str, Any]:
    if not value:
        return {}
    if nested_deeper_than(value, max_depth):
        raise Invalid(f"{METADATA_HEADER} nests JSON deeper than {max_depth} levels")
    problem = storable_problem(value.encode())
    if problem is not None:
        raise Invalid(f"{METADATA_HEADER}: {problem}")
    try:
        meta = json.loads(value)
    except json.JSONDecodeError:
        raise Invalid(f"{METADATA_HEADER} must be a JSON object") from None
    if not isinstance(meta, dict):
        raise Invalid(f"{METADATA_HEADER} must be a JSON object")
    return meta


@router.put(
    "/models/{namespace}/{name}/artifacts",
    status_code=status.HTTP_201_CREATED,
    response_model=ArtifactOut,
    responses=responses(*AUTH_ERRORS, NotFound, Invalid, PayloadTooLarge),
    openapi_extra=binary_body(),
)
async def upload_artifact(
    request: Request,
    namespace: str,
    name: str,
    kind: ArtifactKind,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PrincipalDep,
    sha256: Annotated[str | None, Query(description="the client's sha256 of the file; checked")] = None,
    parent: Annotated[
        list[str] | None, Query(max_length=MAX_PARENTS, description="lineage: parent artifact ids")
    ] = None,
    x_patchhub_metadata: Annotated[str | None, Header(description="user metadata, a JSON object")] = None,
) -> ArtifactOut:
    """Upload a safetensors file as the model's next version, streamed: the body is never held in memory."""
    meta = artifacts.check_metadata(parse_metadata_header(x_patchhub_metadata, runtime.settings.max_json_depth))
    ns, model = await run_in_threadpool(find_model, session, namespace, name)
    principal.require(Role.write, ns, hidden_as=f"model {namespace}/{name}")
    parents = await run_in_threadpool(artifacts.check_parents, session, parent or [], principal)
    artifact = await receive_artifact(
        request, runtime, session, principal, model, kind=kind, meta=meta, parents=parents, sha256=sha256
    )
    return await run_in_threadpool(service.artifact_out, session, ns, model, artifact)


@router.get(
    "/models/{namespace}/{name}/artifacts",
    response_model=ArtifactPage,
    responses=responses(*AUTH_ERRORS, NotFound, Invalid),
)
def list_artifacts(
    namespace: str,
    name: str,
    session: SessionDep,
    principal: PrincipalDep,
    kind: ArtifactKind | None = None,
    page_size: PageSize = 50,
    page_token: str | None = None,
) -> ArtifactPage:
    ns, model = find_model(session, namespace, name)
    principal.require(Role.read, ns, hidden_as=f"model {namespace}/{name}")
    rows, next_token = service.list_artifacts(session, model, kind, page_size, page_token)
    return ArtifactPage(items=service.artifacts_out(session, ns, model, rows), next_page_token=next_token)


@router.get(
    "/models/{namespace}/{name}/artifacts/{ref}",
    response_model=ArtifactOut,
    responses=responses(*AUTH_ERRORS, NotFound),
)
def get_artifact_by_ref(
    namespace: str, name: str, ref: str, session: SessionDep, principal: PrincipalDep
) -> ArtifactOut:
    """Resolve a version (``3``, ``v3``) or an alias (``latest``, ``prod``) to its artifact."""
    ns, model = find_model(session, namespace, name)
    principal.require(Role.read, ns, hidden_as=f"model {namespace}/{name}")
    return service.artifact_out(session, ns, model, service.resolve_ref(session, model, ref))


@router.get("/artifacts/{artifact_id}", response_model=ArtifactOut, responses=responses(*AUTH_ERRORS, NotFound))
def get_artifact(artifact_id: str, session: SessionDep, principal: PrincipalDep) -> ArtifactOut:
    ns, model, artifact = artifacts.get_artifact(session, artifact_id)
    principal.require(Role.read, ns, hidden_as=f"artifact {artifact_id[:64]!r}")
    return service.artifact_out(session, ns, model, artifact)


@router.patch(
    "/artifacts/{artifact_id}/metadata",
    response_model=ArtifactOut,
    responses=responses(*AUTH_ERRORS, NotFound, Invalid),
)
def patch_metadata(artifact_id: str, body: MetadataPatch, session: SessionDep, principal: PrincipalDep) -> ArtifactOut:
    """Merge keys into the artifact's user metadata (metrics, evaluations). The bytes never change."""
    ns, model, artifact = artifacts.get_artifact(session, artifact_id)
    principal.require(Role.write, ns, hidden_as=f"artifact {artifact_id[:64]!r}")
    artifacts.merge_metadata(session, artifact, body.metadata)
    return service.artifact_out(session, ns, model, artifact)


@router.get(
    "/artifacts/{artifact_id}/tensors",
    response_model=TensorIndexOut,
    responses=responses(*AUTH_ERRORS, NotFound),
)
def get_tensor_index(artifact_id: str, session: SessionDep, principal: PrincipalDep) -> TensorIndexOut:
    """Tensor names, shapes and dtypes, from the stored header: no download needed."""
    ns, _model, artifact = artifacts.get_artifact(session, artifact_id)
    principal.require(Role.read, ns, hidden_as=f"artifact {artifact_id[:64]!r}")
    return service.tensor_index_out(artifact)


@router.get(
    "/artifacts/{artifact_id}/file",
    response_class=StreamingResponse,
    responses={
        **responses(*AUTH_ERRORS, NotFound, Conflict, RangeNotSatisfiable),
        200: {"content": {"application/octet-stream": {}}},
        206: {"description": "partial content (Range)"},
        304: {"description": "not modified (If-None-Match)"},
    },
)
def download_artifact(
    artifact_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PrincipalDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """The file, streamed; ETag is its sha256, and Range requests resume or read parts of it."""
    ns, model, artifact = artifacts.get_artifact(session, artifact_id)
    principal.require(Role.read, ns, hidden_as=f"artifact {artifact_id[:64]!r}")
    require_one_file(artifact, "GET .../file")
    etag = f'"{artifact.sha256}"'
    headers = {
        **file_headers(etag, f"{model.name}-v{artifact.version}.safetensors"),
        "X-Patchhub-Sha256": artifact.sha256,
    }
    if not_modified(etag, if_none_match):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return stored_file_response(
        runtime.store, blob_key(artifact.sha256), artifact.size, headers, range_header=range_header, if_range=if_range
    )


@router.get(
    "/models/{namespace}/{name}/aliases",
    response_model=list[AliasOut],
    responses=responses(*AUTH_ERRORS, NotFound),
)
def list_aliases(namespace: str, name: str, session: SessionDep, principal: PrincipalDep) -> list[AliasOut]:
    ns, model = find_model(session, namespace, name)
    principal.require(Role.read, ns, hidden_as=f"model {namespace}/{name}")
    out = service.model_aliases(session, model)
    return [service.alias_out(ns, model, alias, artifact) for alias, artifact in out]


@router.put(
    "/models/{namespace}/{name}/aliases/{alias}",
    response_model=AliasOut,
    responses=responses(*AUTH_ERRORS, NotFound, Invalid, Conflict),
)
def set_alias(
    namespace: str, name: str, alias: str, body: AliasSet, session: SessionDep, principal: PrincipalDep
) -> AliasOut:
    """Point an alias (``prod``, ``staging`` ...) at a version or an artifact of this model."""
    ns, model = find_model(session, namespace, name)
    principal.require(Role.write, ns, hidden_as=f"model {namespace}/{name}")
    if body.version is not None:
        artifact = service.resolve_ref(session, model, str(body.version))
    else:
        _, _, artifact = artifacts.get_artifact(session, body.artifact or "")
    service.set_alias(session, model, alias, artifact)
    return service.alias_out(ns, model, alias, artifact)


@router.delete(
    "/models/{namespace}/{name}/aliases/{alias}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(*AUTH_ERRORS, NotFound, Invalid),
)
def delete_alias(namespace: str, name: str, alias: str, session: SessionDep, principal: PrincipalDep) -> None:
    ns, model = find_model(session, namespace, name)
    principal.require(Role.write, ns, hidden_as=f"model {namespace}/{name}")
    service.delete_alias(session, model, alias)
