"""Artifacts as the API shows them: resolve references, list versions, aliases, lineage. Registering and
changing artifacts is ``registry.domain.artifacts``."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from registry.domain.artifacts import LATEST, point_alias
from registry.domain.evaluations import histories_of, metadata_with_histories
from registry.errors import Invalid, NotFound
from registry.models import Alias, Artifact, ArtifactParent, Model, Namespace
from registry.models.artifact import ArtifactKind
from registry.names import check_name
from registry.numbers import parse_count
from registry.pagination import MAX_PAGE_SIZE, decode_page_token, encode_page_token
from registry.resources.artifacts.files import tensor_file
from registry.resources.artifacts.schemas import AliasOut, ArtifactOut, ArtifactRef, TensorIndexOut, TensorOut

# Lists never show tensors: leave the header (the largest column, one JSON entry per tensor) unread there.
WITHOUT_TENSOR_INDEX = defer(Artifact.tensor_index, raiseload=True)
_VERSION_LIKE = re.compile(r"[vV]?[0-9]+")


def looks_like_version(ref: str) -> bool:
    """``3``, ``v3``, ``V3`` (any digits): read as a version, never as an alias."""
    return _VERSION_LIKE.fullmatch(ref) is not None


def version_number(ref: str) -> int | None:
    """The version ``ref`` names (``3``, ``v3``), or None if it names none a database can hold."""
    return parse_count(ref[1:] if ref[:1] in "vV" else ref) if looks_like_version(ref) else None


def _model_label(session: Session, model: Model) -> str:
    """``namespace/name`` for error messages (the namespace row is in the session already)."""
    namespace = session.get(Namespace, model.namespace_id)
    return f"{namespace.name}/{model.name}" if namespace else model.name


def resolve_ref(session: Session, model: Model, ref: str) -> Artifact:
    """``ref`` is a version (``3`` or ``v3``) or an alias (``latest``, ``prod`` ...)."""
    version = version_number(ref)
    if version is not None:
        artifact = session.scalar(select(Artifact).where(Artifact.model_id == model.id, Artifact.version == version))
    elif looks_like_version(ref):
        artifact = None  # digits, but past any version there can be
    else:
        artifact = session.scalar(
            select(Artifact)
            .join(Alias, Alias.artifact_id == Artifact.id)
            .where(Alias.model_id == model.id, Alias.name == ref)
        )
    if artifact is None:
        raise NotFound(f"model {_model_label(session, model)} has no version or alias {ref[:64]!r}")
    return artifact


def list_artifacts(
    session: Session, model: Model, kind: ArtifactKind | None, page_size: int, page_token: str | None
) -> tuple[list[Artifact], str | None]:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Invalid(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    query = (
        select(Artifact)
        .options(WITHOUT_TENSOR_INDEX)
        .where(Artifact.model_id == model.id)
        .order_by(Artifact.version)
        .limit(page_size + 1)
    )
    after = decode_page_token(page_token)
    if after is not None:
        query = query.where(Artifact.version > after)
    if kind is not None:
        query = query.where(Artifact.kind == kind)
    rows = list(session.scalars(query))
    next_token = encode_page_token(rows[page_size - 1].version) if len(rows) > page_size else None
    return rows[:page_size], next_token


def set_alias(session: Session, model: Model, alias: str, artifact: Artifact) -> None:
    check_name(alias, "alias")
    if alias == LATEST:
        raise Invalid("'latest' follows the newest version automatically and cannot be moved")
    if looks_like_version(alias):
        raise Invalid(f"alias {alias!r} reads as a version number; choose a name that does not")
    if artifact.model_id != model.id:
        raise Invalid("an alias can only point at an artifact of its own model")
    point_alias(session, model, alias, artifact)
    session.flush()


def delete_alias(session: Session, model: Model, alias: str) -> None:
    if alias == LATEST:
        raise Invalid("'latest' follows the newest version automatically and cannot be removed")
    row = session.get(Alias, (model.id, alias))
    if row is None:
        raise NotFound(f"model {_model_label(session, model)} has no alias {alias[:64]!r}")
    session.delete(row)
    session.flush()


def artifact_ref(namespace: Namespace, model: Model, artifact: Artifact) -> ArtifactRef:
    return ArtifactRef(
        id=artifact.id, model=f"{namespace.name}/{model.name}", version=artifact.version, kind=artifact.kind
    )


def artifact_out(session: Session, namespace: Namespace, model: Model, artifact: Artifact) -> ArtifactOut:
    return artifacts_out(session, namespace, model, [artifact])[0]


def artifacts_out(session: Session, namespace: Namespace, model: Model, artifacts: list[Artifact]) -> list[ArtifactOut]:
    """The artifacts as the API shows them, with three statements for the whole list (parents, aliases,
    evaluation histories)."""
    ids = [artifact.id for artifact in artifacts]
    if not ids:
        return []
    parents: dict[str, list[ArtifactRef]] = {artifact_id: [] for artifact_id in ids}
    for child_id, parent_ns, parent_model, parent in session.execute(
        select(ArtifactParent.artifact_id, Namespace, Model, Artifact)
        .options(WITHOUT_TENSOR_INDEX)
        .join(Artifact, Artifact.id == ArtifactParent.parent_id)
        .join(Model, Model.id == Artifact.model_id)
        .join(Namespace, Namespace.id == Model.namespace_id)
        .where(ArtifactParent.artifact_id.in_(ids))
        .order_by(ArtifactParent.artifact_id, ArtifactParent.position)
    ):
        parents[child_id].append(artifact_ref(parent_ns, parent_model, parent))
    aliases: dict[str, list[str]] = {artifact_id: [] for artifact_id in ids}
    for artifact_id, alias in session.execute(
        select(Alias.artifact_id, Alias.name).where(Alias.artifact_id.in_(ids)).order_by(Alias.name)
    ):
        aliases[artifact_id].append(alias)
    histories = histories_of(session, ids)
    return [
        ArtifactOut(
            **artifact_ref(namespace, model, artifact).model_dump(),
            sha256=artifact.sha256,
            size=artifact.size,
            parameter_count=artifact.parameter_count,
            tensor_count=artifact.tensor_count,
            file_metadata=artifact.file_metadata,
            metadata=metadata_with_histories(artifact.meta, histories[artifact.id]),
            parents=parents[artifact.id],
            job_id=artifact.job_id,
            aliases=aliases[artifact.id],
            created_at=artifact.created_at,
            created_by=artifact.created_by,
            file_count=artifact.file_count,
        )
        for artifact in artifacts
    ]


def alias_out(namespace: Namespace, model: Model, alias: str, artifact: Artifact) -> AliasOut:
    return AliasOut(
        model=f"{namespace.name}/{model.name}", alias=alias, artifact_id=artifact.id, version=artifact.version
    )


def tensor_index_out(artifact: Artifact) -> TensorIndexOut:
    tensors = [
        TensorOut(
            name=name, dtype=entry["dtype"], shape=entry["shape"], numel=_numel(entry["shape"]), file=tensor_file(entry)
        )
        for name, entry in artifact.tensor_index.items()
    ]
    return TensorIndexOut(
        artifact_id=artifact.id,
        parameter_count=artifact.parameter_count,
        tensors=tensors,
        metadata=artifact.file_metadata,
    )


def _numel(shape: list[int]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count


def model_aliases(session: Session, model: Model) -> list[tuple[str, Artifact]]:
    rows = session.execute(
        select(Alias.name, Artifact)
        .options(WITHOUT_TENSOR_INDEX)
        .join(Artifact, Artifact.id == Alias.artifact_id)
        .where(Alias.model_id == model.id)
        .order_by(Alias.name)
    )
    return [(alias, artifact) for alias, artifact in rows]
