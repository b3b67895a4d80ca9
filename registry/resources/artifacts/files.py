"""The files of a version: a one-file version holds ``model.safetensors``; a folder version holds a model
folder (sharded safetensors, config, tokenizer files, a card). Listing, reading and the combined index."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from patchhub.safetensors_format import SafetensorsHeader, TensorInfo
from registry.blobs import BlobStore
from registry.errors import Conflict, Forbidden, NotFound, RangeNotSatisfiable, Unauthorized, responses
from registry.models import Artifact, ArtifactFile
from registry.models.artifact_file import ONE_FILE_PATH, SAFETENSORS
from registry.storage.downloads import stored_file_response
from registry.storage.keys import blob_key

# The OpenAPI answers of a route that streams one stored file.
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **responses(Unauthorized, Forbidden, NotFound, RangeNotSatisfiable),
    200: {"content": {"application/octet-stream": {}}},
    206: {"description": "partial content (Range)"},
    304: {"description": "not modified (If-None-Match)"},
}


class FileNotInArtifact(NotFound):
    """The version holds no file at that path (the Hub's EntryNotFound)."""


@dataclass(frozen=True)
class FolderFile:
    """A stored, validated file about to become part of a version."""

    path: str
    sha256: str
    size: int
    kind: str
    tensor_index: dict[str, Any]
    file_metadata: dict[str, Any]


def is_folder(artifact: Artifact) -> bool:
    """True for a version of several files: its sha256 is their folder digest, not one file's bytes (a version
    of one file, whatever its path, has that file's sha256)."""
    return artifact.file_count != 1


def require_one_file(artifact: Artifact, what: str) -> None:
    if is_folder(artifact):
        raise Conflict(
            f"artifact {artifact.id} is a model folder of {artifact.file_count} files; {what} needs a one-file "
            f"version: read its files at /v1/artifacts/{artifact.id}/files/{{path}}"
        )


def list_files(session: Session, artifact: Artifact) -> list[ArtifactFile]:
    """The version's files, sorted by path (a one-file version lists ``model.safetensors``)."""
    return list(
        session.scalars(select(ArtifactFile).where(ArtifactFile.artifact_id == artifact.id).order_by(ArtifactFile.path))
    )


def get_file(session: Session, artifact: Artifact, path: str) -> ArtifactFile:
    found = session.get(ArtifactFile, (artifact.id, path))
    if found is None:
        raise FileNotInArtifact(f"artifact {artifact.id} has no file {path[:256]!r}")
    return found


def file_key(file: ArtifactFile) -> str:
    return blob_key(file.sha256)


def iter_file(store: BlobStore, file: ArtifactFile, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """Bytes [start, end) of the file, streamed from the blob store."""
    stop = file.size if end is None else min(end, file.size)
    return store.iter_range(file_key(file), start, stop) if stop > start else iter(())


def file_response(
    store: BlobStore, file: ArtifactFile, headers: dict[str, str], *, range_header: str | None, if_range: str | None
) -> Response:
    """The file, whole (200) or the one range asked for (206); ``headers`` must hold its ETag."""
    return stored_file_response(store, file_key(file), file.size, headers, range_header=range_header, if_range=if_range)


def download_name(path: str) -> str:
    """The file name for Content-Disposition: the path's last segment, in printable ASCII without quotes."""
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in path.rsplit("/", 1)[-1])


def folder_digest(files: Sequence[FolderFile]) -> str:
    """A folder version's sha256: of the canonical JSON ``[[path, sha256, size], ...]`` sorted by path."""
    entries = sorted([f.path, f.sha256, f.size] for f in files)
    return hashlib.sha256(json.dumps(entries, separators=(",", ":")).encode()).hexdigest()


def combined_index(files: Sequence[FolderFile]) -> dict[str, dict[str, Any]]:
    """Every tensor of the folder's safetensors files: ``{name: {dtype, shape, data_offsets, file}}``, shards
    in path order (the offsets are within ``file``)."""
    index: dict[str, dict[str, Any]] = {}
    for file in sorted(files, key=lambda f: f.path):
        for name, entry in file.tensor_index.items():
            index[name] = {**entry, "file": file.path}
    return index


def tensor_file(entry: dict[str, Any]) -> str:
    """The file a tensor index entry is in (entries of one-file versions do not say: ``model.safetensors``)."""
    return str(entry.get("file", ONE_FILE_PATH))


def header_of(file: ArtifactFile | FolderFile) -> SafetensorsHeader:
    """A stored safetensors file's header, rebuilt from its recorded index (names in data order)."""
    tensors = {
        name: TensorInfo(name, entry["dtype"], tuple(entry["shape"]), *entry["data_offsets"])
        for name, entry in sorted(file.tensor_index.items(), key=lambda item: item[1]["data_offsets"][0])
    }
    return SafetensorsHeader(header_size=0, tensors=tensors, metadata=dict(file.file_metadata))


def safetensors_files(files: Sequence[ArtifactFile]) -> list[ArtifactFile]:
    return [file for file in files if file.kind == SAFETENSORS]


def folder_header(artifact: Artifact) -> SafetensorsHeader:
    """Every tensor of a folder version (offsets within each tensor's own file): what a composition recipe
    is checked against. ``header_size`` is 0: this header describes no single file."""
    tensors = {
        name: TensorInfo(name, entry["dtype"], tuple(entry["shape"]), *entry["data_offsets"])
        for name, entry in artifact.tensor_index.items()
    }
    return SafetensorsHeader(header_size=0, tensors=tensors)
