"""What a model folder must hold to become a version: its safetensors files together are one set of
tensors (no name twice), a shard index (``*.safetensors.index.json``) agrees with the shards it names, and
the tensors are what the kind says. Nothing here executes or unpickles anything; the index is plain JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from patchhub.safetensors_format import SafetensorsHeader, TensorInfo
from patchhub.signature import FORMAT_NAME
from registry.errors import Invalid
from registry.models.artifact import ArtifactKind
from registry.models.artifact_file import SAFETENSORS
from registry.resources.artifacts.content import check_content
from registry.resources.artifacts.files import FolderFile

INDEX_SUFFIX = ".safetensors.index.json"


def check_folder(kind: ArtifactKind, files: Sequence[FolderFile], read: Callable[[FolderFile], bytes]) -> None:
    """Raise Invalid unless ``files`` make a valid ``kind`` version; ``read`` gives a stored file's bytes
    (called only for shard indexes, which are at most the folder-file size limit)."""
    check_paths_fit_on_disk([file.path for file in files])
    owner: dict[str, str] = {}
    tensors: dict[str, TensorInfo] = {}
    for file in sorted(files, key=lambda f: f.path):
        if file.kind != SAFETENSORS:
            continue
        if file.file_metadata.get("format") == FORMAT_NAME:
            raise Invalid(f"{file.path} is an rws signature; push signatures alone with kind=rws")
        for name, entry in file.tensor_index.items():
            if name in owner:
                raise Invalid(
                    f"tensor {name!r} is in both {owner[name]} and {file.path}; each tensor must be in one file"
                )
            owner[name] = file.path
            tensors[name] = TensorInfo(name, entry["dtype"], tuple(entry["shape"]), *entry["data_offsets"])
    if not owner:
        raise Invalid("a model folder needs at least one .safetensors file")
    check_content(kind, SafetensorsHeader(header_size=0, tensors=tensors), lambda: b"")
    for file in files:
        if file.path.endswith(INDEX_SUFFIX):
            check_index(file.path, read(file), owner, {f.path for f in files})


def check_paths_fit_on_disk(paths: Sequence[str]) -> None:
    """Every checkout can hold all the paths: no two differ only in case (they collide on macOS and Windows),
    and no file has the name of a folder another path needs (no file system holds both)."""
    spelled: dict[str, str] = {}  # casefolded file or folder path -> how the folder spells it
    files = {path.casefold() for path in paths}
    for path in sorted(paths):
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            node = "/".join(parts[:depth])
            other = spelled.setdefault(node.casefold(), node)
            if other != node:
                raise Invalid(f"{other!r} and {node!r} differ only in case; one checkout cannot hold both")
            if depth < len(parts) and node.casefold() in files:
                raise Invalid(f"{node!r} is a file and also the folder of {path!r}; no checkout can hold both")


def check_index(path: str, data: bytes, owner: dict[str, str], paths: set[str]) -> None:
    """The index's ``weight_map`` names every tensor of the shards it names, each in the shard that holds it."""
    try:
        weight_map = json.loads(data)["weight_map"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise Invalid(f"{path} must be JSON with a weight_map object") from None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise Invalid(f"{path}: weight_map must map tensor names to shard file names")
    folder = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
    shards = {folder + shard for shard in weight_map.values()}
    absent = sorted(shards - paths)
    if absent:
        raise Invalid(f"{path} names shards the folder does not hold: {absent[:10]}")
    wrong = sorted(name for name, shard in weight_map.items() if owner.get(name) != folder + shard)
    if wrong:
        raise Invalid(f"{path}: these tensors are not in the shard weight_map names: {wrong[:10]}")
    unlisted = sorted(name for name, file in owner.items() if file in shards and name not in weight_map)
    if unlisted:
        raise Invalid(f"{path}: weight_map leaves out tensors of its shards: {unlisted[:10]}")
