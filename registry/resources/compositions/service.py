"""Compositions: validate a recipe against its base, key it by its canonical hash, stream and cache its output."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from patchhub.compose import (
    CompositionError,
    check_compatible,
    check_in_range,
    merged_scales,
    recipe_hash,
)
from patchhub.safetensors_format import SafetensorsError
from patchhub.signature import Signature
from registry.auth.principal import Principal
from registry.db.base import utcnow
from registry.db.session import transaction
from registry.domain.artifacts import get_artifact
from registry.errors import Invalid, NotFound
from registry.models import Artifact, Composition, CompositionRecipe, Role
from registry.models.artifact import ArtifactKind
from registry.models.composition import recipe_inputs
from registry.resources.artifacts import files
from registry.resources.artifacts.refs import resolve_readable_ref
from registry.resources.compositions.cached_output import cached_splice, compose_into_cache
from registry.resources.compositions.digests import start_digest
from registry.resources.compositions.schemas import CompositionCreate, CompositionOut, PatchOut
from registry.resources.compositions.single_flight import COMPUTATIONS, Flight
from registry.runtime import Runtime
from registry.storage.keys import blob_key, composition_output_key
from registry.storage.readers import BlobRangeReader, read_stored_header
from registry.storage.run_ahead import RunAhead
from registry.storage.splice import Splice

RowT = TypeVar("RowT", Composition, CompositionRecipe)

# A cached output read again within this long is not recorded again (reads do not write every time).
READ_RESOLUTION = timedelta(minutes=1)


def create_composition(
    session: Session, runtime: Runtime, principal: Principal, body: CompositionCreate
) -> tuple[Composition, bool]:
    _namespace, base = resolve_readable_ref(session, principal, body.base, "base")
    if base.kind not in (ArtifactKind.base, ArtifactKind.checkpoint):
        raise Invalid(f"base must be a base or checkpoint artifact, not {base.kind.value}")
    patches: list[tuple[Artifact, float]] = []
    for index, patch in enumerate(body.patches):
        _patch_namespace, artifact = resolve_readable_ref(
            session, principal, patch.artifact, f"patches.{index}.artifact"
        )
        if artifact.kind is not ArtifactKind.rws:
            raise Invalid(f"patches.{index}.artifact is a {artifact.kind.value} artifact, not an rws signature")
        patches.append((artifact, patch.scale))
    first_listed: dict[str, Artifact] = {}
    for artifact, _scale in patches:
        first_listed.setdefault(artifact.sha256, artifact)
    # The canonical recipe: each signature once (scales summed), -0.0 as 0.0, in sha256 order.
    patches = [(first_listed[sha], scale) for sha, scale in merged_scales([(a.sha256, s) for a, s in patches])]
    signatures = [(load_signature(runtime, artifact), scale) for artifact, scale in patches]
    _check_architecture(session, base, signatures)
    if files.is_folder(base):  # a sharded base: the recipe is checked against all its shards' tensors
        header = files.folder_header(base)
    else:
        header = read_stored_header(runtime.store, blob_key(base.sha256), runtime.header_limits)
    try:
        check_compatible(header, [signature for signature, _ in signatures])
        check_in_range(header, signatures)
    except CompositionError as exc:
        raise Invalid(f"the signatures do not fit the base: {exc}") from None
    key = recipe_hash(base.sha256, [(artifact.sha256, scale) for artifact, scale in patches])
    named = [{"artifact": artifact.id, "scale": scale} for artifact, scale in patches]
    composition = session.get(Composition, key)
    if composition is None:
        active = [scale for _, scale in patches if scale != 0.0]
        composition, _inserted = _added_or_winner(
            session,
            Composition(
                id=key,
                base_id=base.id,
                patches=named,
                size=base.size if files.is_folder(base) else header.total_size,
                sha256=None if active else base.sha256,  # no active patch: the output is the base, byte for byte
                created_by=principal.token_name,
            ),
            key,
        )
    # The same bytes from other artifacts (another namespace's copies) are the same composition, readable
    # through this recipe: "created" is whether these artifacts were composed before, so nobody learns
    # that someone else holds the same bytes.
    inputs = recipe_inputs(base.id, named)
    recipe = session.get(CompositionRecipe, (key, inputs))
    created = False
    if recipe is None:
        recipe, created = _added_or_winner(
            session,
            CompositionRecipe(
                composition_id=key, inputs=inputs, base_id=base.id, patches=named, created_by=principal.token_name
            ),
            (key, inputs),
        )
    return _as_named_by(composition, recipe), created


def _check_architecture(session: Session, base: Artifact, signatures: list[tuple[Signature, float]]) -> None:
    _ns, model, _artifact = get_artifact(session, base.id)
    for signature, _scale in signatures:
        arch = signature.metadata.get("arch")
        if arch and model.arch and arch != model.arch:
            raise Invalid(f"a signature for architecture {arch!r} cannot patch a {model.arch!r} base")


def load_signature(runtime: Runtime, artifact: Artifact) -> Signature:
    """The signature's scales, validated; its codes stay in the store and are read per slice while composing,
    so memory does not grow with the number of signatures."""
    try:
        source = BlobRangeReader(runtime.store, blob_key(artifact.sha256))
        return Signature.open(source, artifact.size, artifact.sha256)
    except (SafetensorsError, ValueError) as exc:
        raise Invalid(f"artifact {artifact.id} is not a valid signature: {exc}") from None


def get_composition(
    session: Session, principal: Principal, composition_id: str, *, base_model_id: int | None = None
) -> Composition:
    """The composition as the first recipe of it that ``principal`` can read all the artifacts of names it
    (with its base on ``base_model_id`` when given); none such: it does not exist for ``principal``."""
    hidden = f"composition {composition_id[:64]!r}"
    composition = session.get(Composition, composition_id)
    if composition is None:
        raise NotFound(f"{hidden} does not exist")
    recipes = session.scalars(
        select(CompositionRecipe)
        .where(CompositionRecipe.composition_id == composition_id)
        .order_by(CompositionRecipe.created_at, CompositionRecipe.inputs)
    )
    for recipe in recipes:
        try:
            for artifact_id in [recipe.base_id, *(p["artifact"] for p in recipe.patches)]:
                namespace, model, _artifact = get_artifact(session, artifact_id)
                principal.require(Role.read, namespace, hidden_as=hidden)
                if artifact_id == recipe.base_id and base_model_id is not None and model.id != base_model_id:
                    raise NotFound(f"{hidden} does not exist")
        except NotFound:
            continue
        return _as_named_by(composition, recipe)
    raise NotFound(f"{hidden} does not exist")


def _added_or_winner(session: Session, row: RowT, key: object) -> tuple[RowT, bool]:
    """(``row``, True) once inserted, or (the row another request inserted first with the same key, False): a
    recipe and its composition are the same whoever registers them. The insert is the savepoint's first
    statement: on SQLite a savepoint that read first would pin a snapshot, and its write would then fail at
    once ("database is locked") after another request's commit, instead of waiting for the lock."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        winner = session.get(type(row), key)
        if winner is None:
            raise
        return winner, False
    return row, True


def _as_named_by(composition: Composition, recipe: CompositionRecipe) -> Composition:
    """``composition`` answering with ``recipe``'s artifacts and time for the rest of this session (not a
    change to write: the row keeps the artifacts it was first registered with)."""
    for name in ("base_id", "patches", "created_at"):
        set_committed_value(composition, name, getattr(recipe, name))
    return composition


def stored_output(session: Session, runtime: Runtime, composition: Composition) -> Splice | None:
    """Where the output already is: the base itself when no patch is active (its sha256 is the base's), or
    the cached output (``cached_output``); None when it is not computed yet. A cached output whose sha256
    is not recorded yet gets it computed (``digests``)."""
    if all(p["scale"] == 0.0 for p in composition.patches) and composition.sha256 is not None:
        return Splice.whole(blob_key(composition.sha256), composition.size)
    base = session.get(Artifact, composition.base_id)
    if base is None:
        return None
    output = cached_splice(
        runtime.store,
        blob_key(base.sha256),
        composition_output_key(composition.id),
        composition.size,
        runtime.header_limits,
    )
    if output is not None and composition.sha256 is None:
        start_digest(runtime, composition.id, lambda: output)
    return output


def iter_and_cache(runtime: Runtime, composition: Composition, flight: Flight) -> Iterator[bytes]:
    """Compute the output from the base (never incrementally), streaming it and caching it as it goes, and
    land ``flight`` once it is cached. The computation runs ahead of the response on its own thread, the cache
    write on another (and a whole file's hashing on a third), so sending never waits for the arithmetic.
    The last piece is held back until the cache is committed and recorded, so the cache is visible before
    the client has the last byte. Memory is bounded by a few compose chunks and the queues between."""
    try:
        yield from RunAhead(lambda emit: _compute_and_cache(runtime, composition, flight, emit))
    finally:
        COMPUTATIONS.land(flight)


def _compute_and_cache(
    runtime: Runtime, composition: Composition, flight: Flight, emit: Callable[[bytes], None]
) -> None:
    with transaction(runtime.session_factory) as session:
        base = session.get(Artifact, composition.base_id)
        assert base is not None
        patch_rows = [(session.get(Artifact, p["artifact"]), p["scale"]) for p in composition.patches]
    patches = [(load_signature(runtime, artifact), scale) for artifact, scale in patch_rows if artifact]
    base_key = blob_key(base.sha256)
    header = read_stored_header(runtime.store, base_key, runtime.header_limits)
    output_key = composition_output_key(composition.id)
    held, sha256 = compose_into_cache(runtime.store, base_key, header, patches, output_key, emit)
    with transaction(runtime.session_factory) as session:
        row = session.get(Composition, composition.id)
        if row is not None:
            row.sha256 = row.sha256 or sha256
            row.last_read_at = utcnow()
    COMPUTATIONS.land(flight)
    if sha256 is None:  # started before the last piece goes: the response then ends at once
        start_digest(
            runtime,
            composition.id,
            lambda: cached_splice(runtime.store, base_key, output_key, composition.size, runtime.header_limits),
        )
    if held is not None:
        emit(held)


def record_read(session: Session, composition: Composition) -> None:
    """Note that the cached output was read: gc evicts the least recently read outputs first."""
    now = utcnow()
    if composition.last_read_at is None or now - composition.last_read_at > READ_RESOLUTION:
        composition.last_read_at = now


def composition_out(session: Session, composition: Composition, cached: bool) -> CompositionOut:
    return CompositionOut(
        id=composition.id,
        base=composition.base_id,
        patches=[PatchOut(artifact=p["artifact"], scale=p["scale"]) for p in composition.patches],
        size=composition.size,
        sha256=composition.sha256,
        cached=cached,
        created_at=composition.created_at,
    )
