"""What the Hugging Face API routes answer: model info, trees, and the headers of a file."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from sqlalchemy.orm import Session

from registry.auth.principal import Principal
from registry.blobs import BlobStore
from registry.models import Namespace, Role
from registry.resources.artifacts.files import download_name
from registry.resources.hf.cards import CARD_FILE, MAX_CARD_BYTES, card_data
from registry.resources.hf.errors import EntryNotFound
from registry.resources.hf.files import RepoFile
from registry.resources.hf.schemas import (
    AccessToken,
    ModelInfo,
    SafetensorsInfo,
    Sibling,
    SiblingLfs,
    TreeEntry,
    TreeLfs,
    Whoami,
    WhoamiAuth,
    WhoamiOrg,
)
from registry.resources.hf.snapshots import Snapshot
from registry.storage.keys import blob_key

IMMUTABLE = "private, max-age=31536000, immutable"
REVALIDATE = "private, no-cache"  # main, versions and aliases can move


def lfs_pointer(oid: str, size: int) -> bytes:
    """The Git LFS pointer a Hub repository would hold for these bytes."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


def blob_id(file: RepoFile) -> str:
    """The git blob id of the file's LFS pointer: what the Hub reports as a file's oid."""
    pointer = lfs_pointer(file.sha256 or file.etag, file.size)
    return hashlib.sha1(b"blob %d\0" % len(pointer) + pointer).hexdigest()


def model_info(store: BlobStore, snapshot: Snapshot, files: list[RepoFile]) -> ModelInfo:
    data = _card(store, files)
    return ModelInfo(
        id=snapshot.repo_id,
        modelId=snapshot.repo_id,
        author=snapshot.namespace.name,
        sha=snapshot.sha,
        lastModified=snapshot.last_modified,
        createdAt=snapshot.model.created_at,
        private=True,  # every read needs a token that can read the namespace
        disabled=False,
        gated=False,
        tags=_tags(snapshot, data),
        library_name=_card_text(data, "library_name"),
        pipeline_tag=_card_text(data, "pipeline_tag"),
        cardData=data,
        siblings=[_sibling(f) for f in files],
        safetensors=_safetensors(snapshot.version.tensor_index),
    )


def _card(store: BlobStore, files: list[RepoFile]) -> dict[str, Any] | None:
    for file in files:
        if file.path == CARD_FILE and file.sha256 is not None:
            return card_data(store.read(blob_key(file.sha256), 0, min(file.size, MAX_CARD_BYTES)))
    return None


def _tags(snapshot: Snapshot, card: dict[str, Any] | None) -> list[str]:
    tags = [*snapshot.model.tags, "safetensors", f"arch:{snapshot.model.arch}", f"kind:{snapshot.version.kind.value}"]
    card_tags = card.get("tags") if card else None
    if isinstance(card_tags, list):
        tags.extend(str(tag) for tag in card_tags)
    if snapshot.composition is not None:
        tags.append("patchhub:composition")
    return list(dict.fromkeys(tags))


def _card_text(card: dict[str, Any] | None, key: str) -> str | None:
    value = card.get(key) if card else None
    return value if isinstance(value, str) else None


def _sibling(file: RepoFile) -> Sibling:
    lfs = None
    if file.sha256 is not None:
        lfs = SiblingLfs(sha256=file.sha256, size=file.size, pointerSize=len(lfs_pointer(file.sha256, file.size)))
    return Sibling(rfilename=file.path, size=file.size, blobId=blob_id(file), lfs=lfs)


def _safetensors(tensor_index: dict[str, Any]) -> SafetensorsInfo | None:
    parameters: dict[str, int] = {}
    for entry in tensor_index.values():
        count = 1
        for dim in entry["shape"]:
            count *= dim
        parameters[entry["dtype"]] = parameters.get(entry["dtype"], 0) + count
    return SafetensorsInfo(parameters=parameters, total=sum(parameters.values())) if parameters else None


def tree(snapshot: Snapshot, files: list[RepoFile], folder: str, *, recursive: bool) -> list[TreeEntry]:
    """The entries under ``folder`` ('' for the root): its files and folders, or everything below it."""
    folder = folder.strip("/")
    prefix = f"{folder}/" if folder else ""
    below = [file for file in files if file.path.startswith(prefix)]
    if folder and not below:
        raise EntryNotFound(f"{folder[:200]} is not a folder of {snapshot.repo_id} at this revision", snapshot.sha)
    directories: set[str] = set()
    entries: list[TreeEntry] = []
    for file in below:
        parents = file.path[len(prefix) :].split("/")[:-1]
        if recursive:
            directories.update(prefix + "/".join(parents[:depth]) for depth in range(1, len(parents) + 1))
            entries.append(_file_entry(file))
        elif parents:
            directories.add(prefix + parents[0])
        else:
            entries.append(_file_entry(file))
    folders = [TreeEntry(type="directory", path=path, oid=_folder_oid(path, files), size=0) for path in directories]
    return sorted(folders, key=lambda entry: entry.path) + entries


def paths_info(files: list[RepoFile], paths: list[str]) -> list[TreeEntry]:
    """The entries of the paths that exist (a file, or a folder holding files), in the order asked."""
    by_path = {file.path: file for file in files}
    entries = []
    for path in dict.fromkeys(p.strip("/") for p in paths):
        if path in by_path:
            entries.append(_file_entry(by_path[path]))
        elif path and any(file.path.startswith(f"{path}/") for file in files):
            entries.append(TreeEntry(type="directory", path=path, oid=_folder_oid(path, files), size=0))
    return entries


def _file_entry(file: RepoFile) -> TreeEntry:
    lfs = None
    if file.sha256 is not None:
        lfs = TreeLfs(oid=file.sha256, size=file.size, pointerSize=len(lfs_pointer(file.sha256, file.size)))
    return TreeEntry(type="file", path=file.path, oid=blob_id(file), size=file.size, lfs=lfs)


def _folder_oid(path: str, files: list[RepoFile]) -> str:
    inside = "\n".join(f"{f.path} {blob_id(f)}" for f in files if f.path.startswith(f"{path}/"))
    return hashlib.sha1(inside.encode()).hexdigest()


def file_headers(snapshot: Snapshot, file: RepoFile, *, pinned: bool) -> dict[str, str]:
    """The headers of a resolve answer: what hf_hub_download reads (commit, etag, size) and how to cache it;
    ``pinned``: the revision was the sha, so the answer never changes."""
    return {
        "ETag": file.quoted_etag,
        "X-Linked-Etag": file.quoted_etag,
        "X-Linked-Size": str(file.size),
        "X-Repo-Commit": snapshot.sha,
        "Accept-Ranges": "bytes",
        "Cache-Control": IMMUTABLE if pinned else REVALIDATE,
        "Content-Disposition": f'attachment; filename="{download_name(file.path)}";',
    }


def find_file(snapshot: Snapshot, files: list[RepoFile], path: str) -> RepoFile:
    for file in files:
        if file.path == path:
            return file
    raise EntryNotFound(f"{path[:200]} is not a file of {snapshot.repo_id} at this revision", snapshot.sha)


def whoami(session: Session, principal: Principal) -> Whoami:
    """The token, named as the Hub names a user's token: write covers admin (the Hub has no such role)."""
    namespace = session.get(Namespace, principal.namespace_id) if principal.namespace_id is not None else None
    role: Literal["read", "write"] = "read" if principal.role is Role.read else "write"
    return Whoami(
        name=principal.token_name,
        fullname=principal.token_name,
        orgs=[WhoamiOrg(name=namespace.name)] if namespace is not None else [],
        auth=WhoamiAuth(accessToken=AccessToken(displayName=principal.token_name, role=role)),
    )
