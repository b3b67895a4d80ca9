from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from sqlalchemy.orm import Session

from registry.deps import PrincipalDep, SessionDep
from registry.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized, responses
from registry.models import ApiToken, Role
from registry.numbers import MAX_ROW_ID
from registry.resources.namespaces import service
from registry.resources.namespaces.schemas import (
    NamespaceCreate,
    NamespaceOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
    WhoAmI,
)

router = APIRouter(prefix="/v1", tags=["namespaces and tokens"])
AUTH_ERRORS = (Unauthorized, Forbidden)


@router.post(
    "/namespaces",
    status_code=status.HTTP_201_CREATED,
    response_model=NamespaceOut,
    responses=responses(*AUTH_ERRORS, Conflict, Invalid),
)
def create_namespace(body: NamespaceCreate, session: SessionDep, principal: PrincipalDep) -> NamespaceOut:
    principal.require(Role.admin)
    return NamespaceOut.model_validate(service.create_namespace(session, body.name, body.description))


@router.get("/namespaces", response_model=list[NamespaceOut], responses=responses(*AUTH_ERRORS))
def list_namespaces(session: SessionDep, principal: PrincipalDep) -> list[NamespaceOut]:
    visible = [n for n in service.list_namespaces(session) if principal.is_global or n.id == principal.namespace_id]
    return [NamespaceOut.model_validate(n) for n in visible]


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreated,
    responses=responses(*AUTH_ERRORS, NotFound, Invalid),
)
def create_token(body: TokenCreate, session: SessionDep, principal: PrincipalDep) -> TokenCreated:
    scope = service.get_namespace(session, body.namespace) if body.namespace else None
    principal.require(Role.admin, scope)
    token, secret = service.issue_token(session, body.name, body.role, body.namespace)
    return TokenCreated(**_token_out(session, token).model_dump(), token=secret)


@router.get("/tokens", response_model=list[TokenOut], responses=responses(*AUTH_ERRORS))
def list_tokens(session: SessionDep, principal: PrincipalDep) -> list[TokenOut]:
    if principal.is_global:
        principal.require(Role.admin)
    else:
        principal.require(Role.admin, service.get_namespace_by_id(session, principal.namespace_id))
    tokens = service.list_tokens(session, principal.namespace_id)
    return [_token_out(session, t) for t in tokens]


@router.delete("/tokens/{token_id}", response_model=TokenOut, responses=responses(*AUTH_ERRORS, NotFound))
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)], session: SessionDep, principal: PrincipalDep
) -> TokenOut:
    token = service.get_token(session, token_id)
    scope = service.get_namespace_by_id(session, token.namespace_id) if token.namespace_id else None
    principal.require(Role.admin, scope, hidden_as=f"token {token_id}")
    return _token_out(session, service.revoke_token(session, token))


@router.get("/whoami", response_model=WhoAmI, responses=responses(Unauthorized))
def whoami(session: SessionDep, principal: PrincipalDep) -> WhoAmI:
    return WhoAmI(
        token_name=principal.token_name,
        role=principal.role,
        namespace=service.namespace_name(session, principal.namespace_id),
    )


def _token_out(session: Session, token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        role=token.role,
        namespace=service.namespace_name(session, token.namespace_id),
        prefix=token.prefix,
        created_at=token.created_at,
        revoked_at=token.revoked_at,
    )
