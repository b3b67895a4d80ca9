"""Models as the API and the jobs both use them: create one, find one by ``namespace/name``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.errors import Conflict, Invalid, NotFound
from registry.models import Artifact, FolderUpload, Model, Namespace, Upload
from registry.names import check_name


def create_model(
    session: Session,
    namespace: Namespace,
    *,
    name: str,
    arch: str,
    arch_config: dict[str, Any],
    description: str = "",
    tags: Sequence[str] = (),
) -> Model:
    """A new model in ``namespace``; a name in use (or reserved by a deleted model) is a Conflict."""
    check_name(name, "model name")
    for tag in tags:
        if not tag or len(tag) > 64:
            raise Invalid(f"tag {tag[:80]!r} must be 1-64 characters")
    existing = session.scalar(select(Model).where(Model.namespace_id == namespace.id, Model.name == name))
    if existing is not None:
        state = " (deleted; the name stays reserved)" if existing.deleted_at else ""
        raise Conflict(f"model {namespace.name}/{name} already exists{state}")
    model = Model(
        namespace_id=namespace.id,
        name=name,
        arch=arch,
        arch_config=arch_config,
        description=description,
        tags=sorted(set(tags)),
    )
    try:
        # Added inside the savepoint: begin_nested() flushes pending objects before the SAVEPOINT, so a
        # duplicate added outside it would fail the whole transaction rather than just the savepoint.
        with session.begin_nested():
            session.add(model)
    except IntegrityError:
        raise Conflict(f"model {namespace.name}/{name} already exists") from None
    return model


def find_model(session: Session, namespace: str, name: str, *, for_update: bool = False) -> tuple[Namespace, Model]:
    query = (
        select(Namespace, Model)
        .join(Model, Model.namespace_id == Namespace.id)
        .where(Namespace.name == namespace, Model.name == name, Model.deleted_at.is_(None))
    )
    if for_update:
        query = query.with_for_update(of=Model)
    row = session.execute(query).first()
    if row is None:
        raise NotFound(f"model {namespace}/{name} does not exist")
    return row[0], row[1]


def ensure_model(
    session: Session, namespace: Namespace, name: str, *, arch: str, arch_config: dict[str, Any], description: str
) -> Model:
    """The model ``namespace/name``, created with these fields if it does not exist (or found, if a concurrent
    request created it first). A deleted model's name stays reserved: Conflict."""
    try:
        return find_model(session, namespace.name, name)[1]
    except NotFound:
        pass
    try:
        return create_model(session, namespace, name=name, arch=arch, arch_config=arch_config, description=description)
    except Conflict:
        try:
            return find_model(session, namespace.name, name)[1]
        except NotFound:
            raise Conflict(f"model {namespace.name}/{name} was deleted; its name stays reserved") from None


InModel = TypeVar("InModel", Artifact, Upload, FolderUpload)


def get_in_live_model(
    session: Session, entity: type[InModel], row_id: str, what: str
) -> tuple[Namespace, Model, InModel]:
    """A row that belongs to a model (an artifact, an upload), with its model and namespace; a missing row or one
    whose model was deleted is a NotFound naming ``what``."""
    row = session.execute(
        select(Namespace, Model, entity)
        .join(Model, Model.namespace_id == Namespace.id)
        .join(entity, entity.model_id == Model.id)
        .where(entity.id == row_id, Model.deleted_at.is_(None))
    ).first()
    if row is None:
        raise NotFound(f"{what} {row_id[:64]!r} does not exist")
    return row[0], row[1], row[2]
