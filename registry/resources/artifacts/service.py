"""Artifacts: register verified bytes as a new version, resolve references, aliases, lineage."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, defer

from registry.auth.principal import Principal
from registry.db.base import utcnow
from registry.db.upsert import upsert
from registry.errors import Invalid, NotFound
from registry.models import Alias, Artifact, ArtifactParent, Job, Model, Namespace
from registry.models.artifact import ArtifactKind
from registry.names import check_name
from registry.numbers import parse_count
from registry.pagination import MAX_PAGE_SIZE, decode_page_token, encode_page_token
from registry.resources.artifacts.schemas import AliasOut, ArtifactOut, ArtifactRef, TensorIndexOut, TensorOut
from registry.storage.ingest import StoredBlob

LATEST = "latest"
# Lists never show tensors: leave the header (the largest column, one JSON entry per tensor) unread there.
WITHOUT_TENSOR_INDEX = defer(Artifact.tensor_index, raiseload=True)
MAX_METADATA_BYTES = 256 * 1024
_VERSION_LIKE = re.compile(r"[vV]?[0-9]+")


def new_id() -> str:
    return uuid.uuid4().hex


def check_parents(session: Session, parent_ids: list[str], reader: Principal | None = None) -> list[Artifact]:
    """The parents, each of which ``reader`` must be able to read (one it cannot read does not exist for it);
    None is the service itself (a job registering its outputs)."""
    if len(set(parent_ids)) != len(parent_ids):
        raise Invalid("parents must not repeat")
    parents = []
    for parent_id in parent_ids:
        try:
            namespace, _model, parent = get_artifact(session, parent_id)
        except NotFound:
            namespace = None
        if namespace is None or (reader is not None and not reader.can_read(namespace)):
            raise Invalid(f"parent artifact {parent_id[:64]!r} does not exist")
        parents.append(parent)
    return parents


def check_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(meta)) > MAX_METADATA_BYTES:
        raise Invalid(f"metadata is larger than {MAX_METADATA_BYTES} bytes")
    return meta


def register_artifact(
    session: Session,
    model: Model,
    stored: StoredBlob,
    *,
    kind: ArtifactKind,
    meta: dict[str, Any],
    parents: list[Artifact],
    job_id: str | None = None,
    job_output: str | None = None,
    created_by: str | None = None,
) -> Artifact:
    """Make verified bytes visible as the model's next version and move ``latest`` onto it. ``created_by``
    defaults to the submitter of ``job_id``."""
    lock_model(session, model)
    version = (session.scalar(select(func.max(Artifact.version)).where(Artifact.model_id == model.id)) or 0) + 1
    header = stored.header
    artifact = Artifact(
        id=new_id(),
        model_id=model.id,
        version=version,
        kind=kind,
        sha256=stored.sha256,
        size=stored.size,
        parameter_count=header.parameter_count,
        tensor_count=len(header.tensors),
        tensor_index={name: t.to_json() for name, t in header.tensors.items()},
        file_metadata=header.metadata,
        meta=check_metadata(meta),
        job_id=job_id,
        job_output=job_output,
        created_by=created_by if created_by is not None else _job_submitter(session, job_id),
    )
    session.add(artifact)
    session.flush()
    for position, parent in enumerate(parents):
        session.add(ArtifactParent(artifact_id=artifact.id, parent_id=parent.id, position=position))
    _point_alias(session, model, LATEST, artifact)
    session.flush()
    return artifact


def lock_model(session: Session, model: Model) -> None:
    """Serialise the writers of one model's versions until the transaction ends.

    A no-op UPDATE, not ``SELECT ... FOR UPDATE``: on Postgres both take the row lock, but SQLite ignores
    FOR UPDATE, while its first write in a transaction takes the database write lock (waiting up to
    busy_timeout). The driver opens no transaction for plain reads, so that transaction holds no older
    snapshot: what is read after this lock is everything committed, and the next version is max + 1.
    """
    session.execute(
        update(Model).where(Model.id == model.id).values(name=Model.name).execution_options(synchronize_session=False)
    )


def _job_submitter(session: Session, job_id: str | None) -> str:
    return (session.scalar(select(Job.created_by).where(Job.id == job_id)) or "") if job_id else ""


def _point_alias(session: Session, model: Model, alias: str, artifact: Artifact) -> None:
    # One INSERT ... ON CONFLICT DO UPDATE: two requests creating the same alias both succeed (the later
    # one wins) instead of both reading "absent" and one inserting a duplicate.
    upsert(
        session,
        Alias,
        {"model_id": model.id, "name": alias, "artifact_id": artifact.id, "updated_at": utcnow()},
        conflict=("model_id", "name"),
        update=("artifact_id", "updated_at"),
    )


def get_artifact(session: Session, artifact_id: str) -> tuple[Namespace, Model, Artifact]:
    row = session.execute(
        select(Namespace, Model, Artifact)
        .join(Model, Model.namespace_id == Namespace.id)
        .join(Artifact, Artifact.model_id == Model.id)
        .where(Artifact.id == artifact_id, Model.deleted_at.is_(None))
    ).first()
    if row is None:
        raise NotFound(f"artifact {artifact_id[:64]!r} does not exist")
    return row[0], row[1], row[2]


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
    _point_alias(session, model, alias, artifact)
    session.flush()


def delete_alias(session: Session, model: Model, alias: str) -> None:
    if alias == LATEST:
        raise Invalid("'latest' follows the newest version automatically and cannot be removed")
    row = session.get(Alias, (model.id, alias))
    if row is None:
        raise NotFound(f"model {_model_label(session, model)} has no alias {alias[:64]!r}")
    session.delete(row)
    session.flush()


def merge_metadata(session: Session, artifact: Artifact, patch: dict[str, Any]) -> None:
    merged = {**artifact.meta, **patch}
    artifact.meta = check_metadata({k: v for k, v in merged.items() if v is not None})
    session.flush()


def artifact_ref(namespace: Namespace, model: Model, artifact: Artifact) -> ArtifactRef:
    return ArtifactRef(
        id=artifact.id, model=f"{namespace.name}/{model.name}", version=artifact.version, kind=artifact.kind
    )


def artifact_out(session: Session, namespace: Namespace, model: Model, artifact: Artifact) -> ArtifactOut:
    return artifacts_out(session, namespace, model, [artifact])[0]


def artifacts_out(session: Session, namespace: Namespace, model: Model, artifacts: list[Artifact]) -> list[ArtifactOut]:
    """The artifacts as the API shows them, with two statements for the whole list (parents, aliases)."""
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
    return [
        ArtifactOut(
            **artifact_ref(namespace, model, artifact).model_dump(),
            sha256=artifact.sha256,
            size=artifact.size,
            parameter_count=artifact.parameter_count,
            tensor_count=artifact.tensor_count,
            file_metadata=artifact.file_metadata,
            metadata=artifact.meta,
            parents=parents[artifact.id],
            job_id=artifact.job_id,
            aliases=aliases[artifact.id],
            created_at=artifact.created_at,
            created_by=artifact.created_by,
        )
        for artifact in artifacts
    ]


def alias_out(namespace: Namespace, model: Model, alias: str, artifact: Artifact) -> AliasOut:
    return AliasOut(
        model=f"{namespace.name}/{model.name}", alias=alias, artifact_id=artifact.id, version=artifact.version
    )


def tensor_index_out(artifact: Artifact) -> TensorIndexOut:
    tensors = [
        TensorOut(name=name, dtype=entry["dtype"], shape=entry["shape"], numel=_numel(entry["shape"]))
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
