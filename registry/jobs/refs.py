"""Artifact references: an artifact id, or ``namespace/name`` with an optional ``@version`` / ``@alias``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from registry.errors import Invalid, NotFound
from registry.models import Artifact, Namespace
from registry.resources.artifacts.service import get_artifact, resolve_ref
from registry.resources.models.service import find_model


def resolve_artifact_ref(session: Session, ref: str, field: str = "artifact") -> tuple[Namespace, Artifact]:
    try:
        if "/" not in ref:
            namespace, _model, artifact = get_artifact(session, ref)
            return namespace, artifact
        model_ref, _, version = ref.partition("@")
        namespace_name, _, name = model_ref.partition("/")
        namespace, model = find_model(session, namespace_name, name)
        return namespace, resolve_ref(session, model, version or "latest")
    except NotFound as exc:
        raise Invalid(f"params.{field}: {exc.detail}") from None
