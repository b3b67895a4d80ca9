"""Models as the API shows them: list with filters and keyset pagination, soft delete. Creating and finding
one is ``registry.domain.models``."""

from __future__ import annotations

from sqlalchemy import String, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from registry.db.base import utcnow
from registry.errors import Invalid
from registry.models import Alias, Artifact, Model, Namespace
from registry.models.artifact import ArtifactKind
from registry.pagination import MAX_PAGE_SIZE, decode_page_token, encode_page_token
from registry.resources.models.schemas import ModelOut


def list_models(
    session: Session,
    *,
    namespace_id: int | None,
    arch: str | None,
    query_text: str | None,
    tag: str | None,
    page_size: int,
    page_token: str | None,
    kind: ArtifactKind | None = None,
) -> tuple[list[tuple[Namespace, Model]], str | None]:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Invalid(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    query = (
        select(Namespace, Model)
        .join(Model, Model.namespace_id == Namespace.id)
        .where(Model.deleted_at.is_(None))
        .order_by(Model.id)
        .limit(page_size + 1)
    )
    after = decode_page_token(page_token)
    if after is not None:
        query = query.where(Model.id > after)
    if namespace_id is not None:
        query = query.where(Model.namespace_id == namespace_id)
    if arch:
        query = query.where(Model.arch == arch)
    if query_text:
        pattern = f"%{query_text.lower()}%"
        query = query.where(or_(func.lower(Model.name).like(pattern), func.lower(Model.description).like(pattern)))
    if tag:
        query = query.where(cast(Model.tags, String).like(f'%"{tag}"%'))
    if kind is not None:
        query = query.where(exists().where(Artifact.model_id == Model.id, Artifact.kind == kind))
    rows = [(r[0], r[1]) for r in session.execute(query)]
    next_token = encode_page_token(rows[page_size - 1][1].id) if len(rows) > page_size else None
    return rows[:page_size], next_token


def soft_delete(session: Session, model: Model) -> None:
    model.deleted_at = utcnow()
    session.flush()


def model_out(session: Session, namespace: Namespace, model: Model) -> ModelOut:
    return models_out(session, [(namespace, model)])[0]


def models_out(session: Session, rows: list[tuple[Namespace, Model]]) -> list[ModelOut]:
    """The models as the API shows them, with two statements for the whole list (latest versions, aliases)."""
    ids = [model.id for _, model in rows]
    if not ids:
        return []
    latest: dict[int, int] = {
        model_id: version
        for model_id, version in session.execute(
            select(Artifact.model_id, func.max(Artifact.version))
            .where(Artifact.model_id.in_(ids))
            .group_by(Artifact.model_id)
        )
    }
    aliases: dict[int, dict[str, int]] = {model_id: {} for model_id in ids}
    for model_id, name, version in session.execute(
        select(Alias.model_id, Alias.name, Artifact.version)
        .join(Artifact, Artifact.id == Alias.artifact_id)
        .where(Alias.model_id.in_(ids))
        .order_by(Alias.name)
    ):
        aliases[model_id][name] = version
    return [
        ModelOut(
            id=f"{namespace.name}/{model.name}",
            namespace=namespace.name,
            name=model.name,
            arch=model.arch,
            arch_config=model.arch_config,
            description=model.description,
            tags=model.tags,
            created_at=model.created_at,
            latest_version=latest.get(model.id),
            aliases=aliases[model.id],
        )
        for namespace, model in rows
    ]
