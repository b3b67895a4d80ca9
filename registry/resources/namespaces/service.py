"""Namespaces and their API tokens."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.auth.principal import Principal
from registry.auth.tokens import create_token
from registry.db.base import utcnow
from registry.errors import Conflict, NotFound
from registry.models import ApiToken, Namespace, Role
from registry.names import check_name


def create_namespace(session: Session, name: str, description: str = "") -> Namespace:
    check_name(name, "namespace")
    if session.scalar(select(Namespace).where(Namespace.name == name)) is not None:
        raise Conflict(f"namespace {name!r} already exists")
    namespace = Namespace(name=name, description=description)
    session.add(namespace)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"namespace {name!r} already exists") from None
    return namespace


def get_namespace(session: Session, name: str) -> Namespace:
    namespace = session.scalar(select(Namespace).where(Namespace.name == name))
    if namespace is None:
        raise NotFound(f"namespace {name!r} does not exist")
    return namespace


def list_namespaces(session: Session) -> list[Namespace]:
    return list(session.scalars(select(Namespace).order_by(Namespace.name)))


def issue_token(session: Session, name: str, role: Role, namespace: str | None) -> tuple[ApiToken, str]:
    scope = get_namespace(session, namespace) if namespace else None
    return create_token(session, name, role, scope)


def get_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"token {token_id} does not exist")
    return token


def revoke_token(session: Session, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


def list_tokens(session: Session, namespace_id: int | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if namespace_id is not None:
        query = query.where(ApiToken.namespace_id == namespace_id)
    return list(session.scalars(query))


def namespace_name(session: Session, namespace_id: int | None) -> str | None:
    if namespace_id is None:
        return None
    namespace = session.get(Namespace, namespace_id)
    return namespace.name if namespace else None


def get_namespace_by_id(session: Session, namespace_id: int | None) -> Namespace:
    namespace = session.get(Namespace, namespace_id) if namespace_id is not None else None
    if namespace is None:
        raise NotFound(f"namespace {namespace_id} does not exist")
    return namespace


def listing_scope(session: Session, principal: Principal, namespace: str | None) -> int | None:
    """The namespace id a listing covers: the one asked for (the caller must read it), else the token's own
    namespace, else None (every namespace, for a global token)."""
    if namespace is None:
        return principal.namespace_id
    scope = get_namespace(session, namespace)
    principal.require(Role.read, scope)
    return scope.id
