"""Compositions of a folder base (sharded safetensors + config, tokenizer ...): the output is the base's
folder with each shard a patch touches composed. A signature's tensors are found across shards through the
combined tensor index; each touched shard is composed by the same engine as a one-file base
(``patchhub.compose.iter_composed``) with the signatures restricted to that shard's tensors, and cached under
``compositions/{id}/{sha256(path)}``. Untouched shards and the other files are the base's own bytes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fastapi import Response, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from patchhub.signature import Signature
from registry.db.base import utcnow
from registry.db.session import transaction
from registry.errors import Conflict
from registry.models import Artifact, ArtifactFile, Composition
from registry.models.artifact_file import SAFETENSORS
from registry.resources.artifacts import files
from registry.resources.compositions.cached_output import cached_splice, compose_into_cache
from registry.resources.compositions.downloads import computed_once_response
from registry.resources.compositions.service import load_signature
from registry.resources.compositions.single_flight import COMPUTATIONS, Flight, computation_key
from registry.runtime import Runtime
from registry.storage.downloads import file_headers, not_modified
from registry.storage.keys import composition_output_key
from registry.storage.readers import read_stored_header
from registry.storage.run_ahead import RunAhead
from registry.storage.splice import Splice


@dataclass(frozen=True)
class ComposedFile:
    """A file of a composition's output: composed (a shard a patch touches) or the base's own bytes."""

    path: str
    size: int
    kind: str
    sha256: str | None  # the base file's for untouched files; a composed file's once cached (one-file bases)
    composed: bool


def require_one_file_base(session: Session, composition: Composition) -> None:
    base = session.get(Artifact, composition.base_id)
    if base is not None and files.is_folder(base):
        raise Conflict(
            f"composition {composition.id} is of a model folder; download its files from "
            f"/v1/compositions/{composition.id}/files/{{path}} (listed at /v1/compositions/{composition.id}/files)"
        )


def covered_tensors(session: Session, composition: Composition) -> set[str]:
    """The base tensors an active patch (scale not 0) changes, from the signatures' recorded metadata."""
    covered: set[str] = set()
    for patch in composition.patches:
        signature = session.get(Artifact, patch["artifact"])
        if signature is not None and patch["scale"] != 0.0:
            covered.update(json.loads(signature.file_metadata.get("tensors", "{}")))
    return covered


def composition_files(session: Session, composition: Composition) -> list[ComposedFile]:
    """The output's files by path. A one-file base: its one file, composed. A folder base: every base file."""
    base = session.get(Artifact, composition.base_id)
    assert base is not None
    rows = files.list_files(session, base)
    if not files.is_folder(base):
        return [ComposedFile(rows[0].path, composition.size, SAFETENSORS, composition.sha256, True)]
    covered = covered_tensors(session, composition)
    return [
        ComposedFile(row.path, row.size, row.kind, None if touched else row.sha256, touched)
        for row in rows
        for touched in [row.kind == SAFETENSORS and not covered.isdisjoint(row.tensor_index)]
    ]


def shard_output_key(composition_id: str, path: str) -> str:
    return f"{composition_output_key(composition_id)}/{hashlib.sha256(path.encode()).hexdigest()}"


def shard_etag(composition_id: str, path: str) -> str:
    return f'"{composition_id}-{hashlib.sha256(path.encode()).hexdigest()[:16]}"'


def iter_and_cache_shard(
    runtime: Runtime, composition: Composition, shard: ArtifactFile, flight: Flight
) -> Iterator[bytes]:
    """One composed shard, streamed and cached as it goes (the last piece is held back until the cached copy
    is committed), then ``flight`` lands. Bytes are ``iter_composed`` over the shard with each signature
    restricted to the shard's tensors; the computation runs ahead of the response on its own thread
    (``RunAhead``, as for one-file bases)."""
    try:
        yield from RunAhead(lambda emit: _compute_and_cache_shard(runtime, composition, shard, flight, emit))
    finally:
        COMPUTATIONS.land(flight)


def _shard_patches(runtime: Runtime, composition: Composition, shard: ArtifactFile) -> list[tuple[Signature, float]]:
    """The composition's signatures restricted to the shard's tensors (those covering none left out)."""
    with transaction(runtime.session_factory) as session:
        patch_rows = [(session.get(Artifact, p["artifact"]), p["scale"]) for p in composition.patches]
    names = set(shard.tensor_index)
    restricted = [
        (load_signature(runtime, artifact).restricted_to(names), scale)
        for artifact, scale in patch_rows
        if artifact is not None
    ]
    return [(signature, scale) for signature, scale in restricted if signature.tensor_names]


def _compute_and_cache_shard(
    runtime: Runtime, composition: Composition, shard: ArtifactFile, flight: Flight, emit: Callable[[bytes], None]
) -> None:
    patches = _shard_patches(runtime, composition, shard)
    base_key = files.file_key(shard)
    header = read_stored_header(runtime.store, base_key, runtime.header_limits)
    held, _sha256 = compose_into_cache(
        runtime.store, base_key, header, patches, shard_output_key(composition.id, shard.path), emit
    )
    with transaction(runtime.session_factory) as session:
        row = session.get(Composition, composition.id)
        if row is not None:
            row.last_read_at = utcnow()
    COMPUTATIONS.land(flight)
    if held is not None:
        emit(held)


async def folder_file_response(
    runtime: Runtime,
    session: Session,
    composition: Composition,
    path: str,
    *,
    range_header: str | None,
    if_none_match: str | None,
    if_range: str | None,
) -> Response:
    """One file of a folder base's composition: a touched shard composed (computed once, single-flighted,
    cached), anything else the base's file. Range requests are served from the cached or stored bytes."""
    base = await run_in_threadpool(session.get, Artifact, composition.base_id)
    assert base is not None
    shard = await run_in_threadpool(files.get_file, session, base, path)
    touched = shard.kind == SAFETENSORS and not (
        await run_in_threadpool(covered_tensors, session, composition)
    ).isdisjoint(shard.tensor_index)
    etag = shard_etag(composition.id, path) if touched else f'"{shard.sha256}"'
    headers = file_headers(etag, files.download_name(path))
    if not_modified(etag, if_none_match):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if not touched:
        return files.file_response(runtime.store, shard, headers, range_header=range_header, if_range=if_range)

    def cached() -> Splice | None:
        return cached_splice(
            runtime.store,
            files.file_key(shard),
            shard_output_key(composition.id, path),
            shard.size,
            runtime.header_limits,
        )

    return await computed_once_response(
        runtime,
        session,
        composition,
        size=shard.size,
        headers=headers,
        flight_key=computation_key(runtime, f"{composition.id}/{path}"),
        stored=cached,
        compute=lambda flight: iter_and_cache_shard(runtime, composition, shard, flight),
        range_header=range_header,
        if_range=if_range,
    )
