"""Resolving artifact references (an id, or ``namespace/name`` with an optional ``@version`` / ``@alias``), parsed
by the SDK's own parser so client and server read a reference the same way."""

from __future__ import annotations

from sqlalchemy.orm import Session

from patchhub.refs import parse_ref, split_model_id
from registry.auth.principal import Principal
from registry.domain.artifacts import get_artifact
from registry.domain.models import find_model
from registry.errors import Invalid, NotFound
from registry.models import Artifact, Namespace
from registry.resources.artifacts.service import resolve_ref


def resolve_artifact_ref(session: Session, ref: str, field: str) -> tuple[Namespace, Artifact]:
    """The artifact ``ref`` names; an unknown or malformed reference is a 422 naming ``field``."""
    try:
        parsed = parse_ref(ref)
        if parsed.artifact_id is not None:
            namespace, _model, artifact = get_artifact(session, parsed.artifact_id)
            return namespace, artifact
        assert parsed.model is not None
        namespace, model = find_model(session, *split_model_id(parsed.model))
        return namespace, resolve_ref(session, model, parsed.selector)
    except ValueError as exc:
        raise Invalid(f"{field}: {exc}") from None
    except NotFound as exc:
        raise Invalid(f"{field}: {exc.detail}") from None


def resolve_readable_ref(session: Session, principal: Principal, ref: str, field: str) -> tuple[Namespace, Artifact]:
    """As ``resolve_artifact_ref``, for a caller who must be able to read it: a reference into a namespace the
    token cannot read gets the very 422 a missing one gets."""
    namespace, artifact = resolve_artifact_ref(session, ref, field)
    if not principal.can_read(namespace):
        parsed = parse_ref(ref)
        missing = f"artifact {ref[:64]!r}" if parsed.artifact_id is not None else f"model {parsed.model}"
        raise Invalid(f"{field}: {missing} does not exist")
    return namespace, artifact
