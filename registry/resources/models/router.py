from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from registry.deps import PrincipalDep, SessionDep
from registry.domain import models
from registry.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized, responses
from registry.models import Role
from registry.models.artifact import ArtifactKind
from registry.pagination import PageSize
from registry.resources.models import service
from registry.resources.models.schemas import ModelCreate, ModelOut, ModelPage
from registry.resources.namespaces.service import get_namespace, listing_scope

router = APIRouter(prefix="/v1/models", tags=["models"])
AUTH_ERRORS = (Unauthorized, Forbidden)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ModelOut,
    responses=responses(*AUTH_ERRORS, NotFound, Conflict, Invalid),
)
def create_model(body: ModelCreate, session: SessionDep, principal: PrincipalDep) -> ModelOut:
    namespace = get_namespace(session, body.namespace)
    principal.require(Role.write, namespace)
    model = models.create_model(session, namespace, **body.model_dump(exclude={"namespace"}))
    return service.model_out(session, namespace, model)


@router.get("", response_model=ModelPage, responses=responses(*AUTH_ERRORS, NotFound, Invalid))
def list_models(
    session: SessionDep,
    principal: PrincipalDep,
    namespace: str | None = None,
    arch: str | None = None,
    q: Annotated[str | None, Query(description="substring of the name or description")] = None,
    tag: str | None = None,
    kind: Annotated[ArtifactKind | None, Query(description="only models with an artifact of this kind")] = None,
    page_size: PageSize = 50,
    page_token: str | None = None,
) -> ModelPage:
    namespace_id = listing_scope(session, principal, namespace)
    rows, next_token = service.list_models(
        session,
        namespace_id=namespace_id,
        arch=arch,
        query_text=q,
        tag=tag,
        page_size=page_size,
        page_token=page_token,
        kind=kind,
    )
    return ModelPage(items=service.models_out(session, rows), next_page_token=next_token)


@router.get("/{namespace}/{name}", response_model=ModelOut, responses=responses(*AUTH_ERRORS, NotFound))
def get_model(namespace: str, name: str, session: SessionDep, principal: PrincipalDep) -> ModelOut:
    ns, model = models.find_model(session, namespace, name)
    principal.require(Role.read, ns, hidden_as=f"model {namespace}/{name}")
    return service.model_out(session, ns, model)


@router.delete(
    "/{namespace}/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(*AUTH_ERRORS, NotFound),
)
def delete_model(namespace: str, name: str, session: SessionDep, principal: PrincipalDep) -> None:
    ns, model = models.find_model(session, namespace, name)
    principal.require(Role.admin, ns, hidden_as=f"model {namespace}/{name}")
    service.soft_delete(session, model)
