"""FastAPI dependencies: the runtime, the request's transaction, and the calling principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from registry.auth.principal import Principal
from registry.auth.tokens import authenticate
from registry.db.session import transaction
from registry.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_session(request: Request) -> Iterator[Session]:
    """The request owns the transaction: commit when the route returns, roll back if it raises."""
    with transaction(get_runtime(request).session_factory) as session:
        yield session


def get_principal(
    session: Annotated[Session, Depends(get_session, scope="function")],
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    return authenticate(session, authorization)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
