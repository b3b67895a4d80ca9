"""Pushing a model folder (sharded safetensors, config, tokenizer files, a card) as one version.

Every file is hashed and checked locally first (pickles are refused before anything is sent), then sent to
a folder upload one request per file, with its sha256; ``complete`` makes them one version in one step, so
a push that fails half-way leaves no version at all. The upload id is remembered in the cache (like a
resumable file upload's): rerunning the same push sends only the files the service does not hold yet.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from patchhub._http import ConnectionLost, Transport
from patchhub._progress import progress_bar
from patchhub.cache import BlobCache
from patchhub.download import file_sha256
from patchhub.errors import ConflictError, NotFoundError, NotSafetensorsError
from patchhub.resources.models import model_path
from patchhub.types import Artifact
from patchhub.upload import PREFIX_BYTES, STREAM_CHUNK_BYTES, check_safetensors

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
SKIPPED_DIRS = (".git", ".cache")  # a clone's history, huggingface_hub's download bookkeeping


@dataclass(frozen=True)
class FolderFile:
    path: str  # relative, '/'-separated: the file's name in the version
    local: Path
    size: int
    sha256: str


def folder_files(directory: str | os.PathLike[str]) -> list[FolderFile]:
    """The folder's files (``.git/`` and ``.cache/`` left out), checked and hashed; raises
    ``NotSafetensorsError`` naming a pickle before anything is sent."""
    root = Path(directory)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    found = []
    for local in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = local.relative_to(root).as_posix()
        if relative.split("/")[0] in SKIPPED_DIRS:
            continue
        if relative.lower().endswith(PICKLE_SUFFIXES):
            raise NotSafetensorsError(
                f"{relative} is a pickle (torch.save / .bin / .pt); the registry never unpickles. Convert it with "
                "safetensors.torch.save_file (or save_pretrained(..., safe_serialization=True)) and push the folder"
            )
        if relative.endswith(".safetensors"):
            with open(local, "rb") as handle:
                check_safetensors(handle.read(PREFIX_BYTES), relative)
        found.append(FolderFile(relative, local, local.stat().st_size, file_sha256(local)))
    if not found:
        raise ValueError(f"{root} holds no files to push")
    return found


class FolderUploader:
    """Sends a folder to a folder upload whose id is remembered in the cache, so rerunning the same push after
    a failure continues it: only the files the service does not hold yet are sent again."""

    def __init__(self, transport: Transport, cache: BlobCache, *, progress: bool) -> None:
        self.transport = transport
        self.cache = cache
        self.progress = progress

    def push(
        self, model: str, files: list[FolderFile], *, kind: str, metadata: dict[str, Any], parents: list[str]
    ) -> Artifact:
        key = _push_key(model, files, kind, metadata, parents)
        upload = self._recalled(key)
        if upload is not None and upload.get("artifact_id"):
            self.cache.forget_upload(key)  # completed by an earlier run whose answer was lost
            return self._artifact(upload["artifact_id"])
        if upload is None:
            upload = self.transport.request_json(
                "POST",
                f"{model_path(model)}/folder-uploads",
                json={"kind": kind, "metadata": metadata, "parents": parents},
                idempotent=False,
            )
            self.cache.remember_upload(key, upload["id"])
        stored = {(f["path"], f["sha256"]) for f in upload.get("files", [])}
        missing = [file for file in files if (file.path, file.sha256) not in stored]
        with progress_bar(sum(file.size for file in missing), f"push {model}", enabled=self.progress) as bar:
            for file in missing:
                self._send(upload["id"], file, bar.update)
        artifact = self._complete(upload["id"], files)
        self.cache.forget_upload(key)
        return artifact

    def _recalled(self, key: str) -> dict[str, Any] | None:
        upload_id = self.cache.recall_upload(key)
        if upload_id is None:
            return None
        try:
            return dict(self.transport.request_json("GET", f"/v1/folder-uploads/{upload_id}"))
        except NotFoundError:  # expired, aborted or collected: start a new one
            self.cache.forget_upload(key)
            return None

    def _send(self, upload_id: str, file: FolderFile, advance: Callable[[int], object]) -> None:
        def body() -> Iterator[bytes]:
            with open(file.local, "rb") as handle:
                while chunk := handle.read(STREAM_CHUNK_BYTES):
                    advance(len(chunk))
                    yield chunk

        self.transport.request_json(
            "PUT",
            f"/v1/folder-uploads/{upload_id}/files/{quote(file.path, safe='/')}",
            params={"sha256": file.sha256},
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(file.size)},
            body=body,
            idempotent=True,  # sending a path again replaces it with the same bytes
        )

    def _complete(self, upload_id: str, files: list[FolderFile]) -> Artifact:
        listed = [{"path": file.path, "sha256": file.sha256} for file in files]
        try:
            done = self.transport.request_json(
                "POST", f"/v1/folder-uploads/{upload_id}/complete", json={"files": listed}, idempotent=False
            )
        except (ConflictError, ConnectionLost):
            # An earlier try may have completed it (its answer lost): the upload then names its artifact.
            artifact_id = self.transport.request_json("GET", f"/v1/folder-uploads/{upload_id}").get("artifact_id")
            if artifact_id is None:
                raise
            return self._artifact(artifact_id)
        return Artifact.from_json(done)

    def _artifact(self, artifact_id: str) -> Artifact:
        return Artifact.from_json(self.transport.request_json("GET", f"/v1/artifacts/{artifact_id}"))


def _push_key(model: str, files: list[FolderFile], kind: str, metadata: dict[str, Any], parents: list[str]) -> str:
    """Identifies "this folder, to this model, with these settings", so only a true rerun continues."""
    manifest = sorted((file.path, file.sha256) for file in files)
    recipe = json.dumps(["folder", model, manifest, kind, metadata, parents], sort_keys=True, default=str)
    return hashlib.sha256(recipe.encode()).hexdigest()[:40]
