"""A revision of ``namespace/name`` resolved to what it serves: a version, or a composition on one of its versions,
with the 40-hex revision sha the Hugging Face protocol calls the commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from patchhub.hf_revisions import CompositionId, Named, Recipe, Revision, RevisionSha, parse_revision
from registry.auth.principal import Principal
from registry.domain.models import find_model
from registry.errors import Invalid, NotFound
from registry.models import Artifact, Composition, Model, Namespace
from registry.resources.artifacts.service import resolve_ref
from registry.resources.compositions import service as compositions
from registry.resources.compositions.schemas import CompositionCreate, PatchIn
from registry.resources.hf.errors import RepoNotFound, RevisionNotFound
from registry.runtime import Runtime

_SHA_CHARS = 40


@dataclass(frozen=True)
class Snapshot:
    namespace: Namespace
    model: Model
    sha: str  # 40 hex: the version's or the composition's, the same whichever revision named it
    version: Artifact  # the version served, or the composition's base
    composition: Composition | None
    last_modified: datetime

    @property
    def repo_id(self) -> str:
        return f"{self.namespace.name}/{self.model.name}"


def version_sha(artifact: Artifact) -> str:
    """The artifact id (32 hex) and its version (8 hex): stable, and read back without a search."""
    return f"{artifact.id}{artifact.version % 2**32:08x}"


def composition_sha(composition: Composition) -> str:
    return composition.id[:_SHA_CHARS]


def find_repo(session: Session, principal: Principal, namespace: str, name: str) -> tuple[Namespace, Model]:
    """The model ``namespace/name``; one the token cannot read answers as one that does not exist."""
    try:
        ns, model = find_model(session, namespace, name)
    except NotFound:
        ns = None
    if ns is None or not principal.can_read(ns):
        raise RepoNotFound(f"model {namespace[:64]}/{name[:64]} does not exist")
    return ns, model


def resolve_snapshot(
    session: Session, runtime: Runtime, principal: Principal, namespace: str, name: str, revision: str
) -> Snapshot:
    ns, model = find_repo(session, principal, namespace, name)
    try:
        parsed = parse_revision(revision)
    except ValueError as exc:
        raise RevisionNotFound(str(exc)) from None
    found = _resolve(session, runtime, principal, model, parsed)
    if isinstance(found, Composition):
        base = session.get(Artifact, found.base_id)
        assert base is not None
        return Snapshot(ns, model, composition_sha(found), base, found, found.created_at)
    return Snapshot(ns, model, version_sha(found), found, None, found.created_at)


def _resolve(
    session: Session, runtime: Runtime, principal: Principal, model: Model, revision: Revision
) -> Artifact | Composition:
    if isinstance(revision, Named):
        return _version(session, model, revision)
    if isinstance(revision, RevisionSha):
        return _by_sha(session, principal, model, revision.sha)
    if isinstance(revision, CompositionId):
        return _composition(session, principal, model, revision.id)
    return _recipe(session, runtime, principal, model, revision)


def _version(session: Session, model: Model, revision: Named) -> Artifact:
    try:
        return resolve_ref(session, model, revision.selector)
    except NotFound as exc:
        if revision.selector == "latest":
            raise RevisionNotFound("the model has no versions yet: main names the latest one") from None
        raise RevisionNotFound(exc.detail) from None


def _by_sha(session: Session, principal: Principal, model: Model, sha: str) -> Artifact | Composition:
    artifact = session.get(Artifact, sha[:32])
    if artifact is not None and artifact.model_id == model.id and version_sha(artifact) == sha:
        return artifact
    candidates = session.scalars(select(Composition.id).where(Composition.id.like(f"{sha}%"))).all()
    for composition_id in candidates:
        try:
            return _composition(session, principal, model, composition_id)
        except RevisionNotFound:
            continue
    raise RevisionNotFound(f"no version or composition of this model has the revision sha {sha}")


def _composition(session: Session, principal: Principal, model: Model, composition_id: str) -> Composition:
    try:
        composition = compositions.get_composition(session, principal, composition_id, base_model_id=model.id)
    except NotFound:
        composition = None
    base = session.get(Artifact, composition.base_id) if composition is not None else None
    if composition is None or base is None or base.model_id != model.id:
        raise RevisionNotFound(f"composition {composition_id} does not exist on a version of this model")
    return composition


def _recipe(session: Session, runtime: Runtime, principal: Principal, model: Model, recipe: Recipe) -> Composition:
    """The composition the recipe names, registered on first use exactly as POST /v1/compositions would."""
    base = _version(session, model, recipe.base)
    try:
        body = CompositionCreate(
            base=base.id, patches=[PatchIn(artifact=patch.ref, scale=patch.scale) for patch in recipe.patches]
        )
    except ValidationError as exc:
        raise RevisionNotFound(f"the composition revision is invalid: {exc.errors()[0]['msg']}") from None
    try:  # a concurrent first use of the same recipe registers it once; this one then reads that row
        composition, _created = compositions.create_composition(session, runtime, principal, body)
    except Invalid as exc:
        raise RevisionNotFound(f"the composition revision does not compose: {exc.detail}") from None
    return composition
