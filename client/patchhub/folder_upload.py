"""Pushing a model folder (sharded safetensors, config, tokenizer files, a card) as one version.

Every file is hashed and checked locally first (pickles are refused before anything is sent), then sent to
a folder upload one request per file, with its sha256; ``complete`` makes them one version in one step, so
a push that fails half-way leaves no version at all (the next push starts a new folder upload).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from patchhub._http import Transport
from patchhub._progress import progress_bar
from patchhub.download import file_sha256
from patchhub.errors import NotSafetensorsError
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
    def __init__(self, transport: Transport, *, progress: bool) -> None:
        self.transport = transport
        self.progress = progress

    def push(
        self, model: str, files: list[FolderFile], *, kind: str, metadata: dict[str, Any], parents: list[str]
    ) -> Artifact:
        created = self.transport.request_json(
            "POST",
            f"{model_path(model)}/folder-uploads",
            json={"kind": kind, "metadata": metadata, "parents": parents},
            idempotent=False,
        )
        upload_id = created["id"]
        total = sum(file.size for file in files)
        with progress_bar(total, f"push {model}", enabled=self.progress) as bar:
            for file in files:

                def body(file: FolderFile = file) -> Iterator[bytes]:
                    with open(file.local, "rb") as handle:
                        while chunk := handle.read(STREAM_CHUNK_BYTES):
                            bar.update(len(chunk))
                            yield chunk

                self.transport.request_json(
                    "PUT",
                    f"/v1/folder-uploads/{upload_id}/files/{quote(file.path, safe='/')}",
                    params={"sha256": file.sha256},
                    headers={"Content-Type": "application/octet-stream", "Content-Length": str(file.size)},
                    body=body,
                    idempotent=True,  # sending a path again replaces it with the same bytes
                )
        done = self.transport.request_json(
            "POST",
            f"/v1/folder-uploads/{upload_id}/complete",
            json={"files": [{"path": file.path, "sha256": file.sha256} for file in files]},
            idempotent=False,
        )
        return Artifact.from_json(done)
