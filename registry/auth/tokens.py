"""API tokens: random secrets shown once, stored as sha256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.auth.principal import Principal
from registry.db.base import utcnow
from registry.errors import Unauthorized
from registry.models import ApiToken, Namespace, Role

TOKEN_PREFIX = "phk_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str, role: Role, namespace: Namespace | None) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret (the only time the secret exists in clear)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        role=role,
        namespace_id=namespace.id if namespace else None,
    )
    session.add(token)
    session.flush()
    return token, secret


def authenticate(session: Session, authorization: str | None) -> Principal:
    """Resolve an ``Authorization: Bearer <token>`` header to a principal, or raise 401."""
    if not authorization:
        raise Unauthorized("an API token is required: send 'Authorization: Bearer <token>'")
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret.strip())))
    return _principal_of(token)


def authenticate_token_id(session: Session, token_id: int) -> Principal:
    """The principal of a token proven earlier (a web session names its token by id); 401 once revoked."""
    return _principal_of(session.get(ApiToken, token_id))


def _principal_of(token: ApiToken | None) -> Principal:
    if token is None or token.revoked_at is not None:
        raise Unauthorized("the API token is unknown or revoked")
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now  # coarse, so reads do not write on every request
    return Principal(token_id=token.id, token_name=token.name, role=token.role, namespace_id=token.namespace_id)
