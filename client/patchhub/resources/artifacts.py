from __future__ import annotations

import builtins
import os
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from patchhub._output import copy_out
from patchhub.download import fetch_to_cache
from patchhub.folder_download import download_folder
from patchhub.folder_upload import FolderUploader, folder_files
from patchhub.refs import parse_ref
from patchhub.resources._base import Resource, segment
from patchhub.resources.models import model_path
from patchhub.state_dict import Framework, load_state_dict
from patchhub.types import Alias, Artifact, TensorIndex
from patchhub.upload import ArtifactUploader, local_file

ArtifactLike = str | Artifact  # an Artifact, an artifact id, or "ns/name[@version|@alias]"
# One patch of a composition: a signature artifact with its scale, or the artifact alone (scale 1.0).
PatchLike = ArtifactLike | tuple[ArtifactLike, float]


def patch_scale(patch: PatchLike) -> tuple[ArtifactLike, float]:
    """A patch as (artifact, scale), the scale 1.0 where none is given."""
    return patch if isinstance(patch, tuple) else (patch, 1.0)


class Artifacts(Resource):
    """Versions of a model: upload, look up, download, load, aliases, metadata and lineage."""

    def upload(
        self,
        model: str,
        source: str | os.PathLike[str] | bytes | None = None,
        *,
        state_dict: Mapping[str, Any] | None = None,
        kind: str = "base",
        metadata: dict[str, Any] | None = None,
        parents: list[ArtifactLike] | None = None,
        file_metadata: dict[str, str] | None = None,
        force_new_version: bool = False,
    ) -> Artifact:
        """Upload a safetensors file (a path or bytes) or a ``state_dict`` as the model's next version.

        ``state_dict`` holds torch tensors or numpy arrays and is saved as safetensors (with
        ``file_metadata`` as its ``__metadata__``). The file is hashed first and the service checks the
        sha256. Big files go through the resumable API (see ``Client(multipart_threshold=...)``).

        Bytes identical to the model's latest version (same sha256 and kind) are not uploaded again: that
        version is returned with ``unchanged=True`` and ``latest`` stays where it is, so rerunning a script
        is a no-op. ``force_new_version=True`` makes a new version anyway. A file that is not safetensors
        (a torch ``.pt`` pickle, say) raises ``NotSafetensorsError`` before anything is sent.
        """
        client = self._client
        parent_ids = [self.resolve(p).id for p in parents or []]
        uploader = ArtifactUploader(
            self._transport, client.uploads, client.cache, client.upload_options, progress=client.progress
        )
        with local_file(source, state_dict, file_metadata, progress=client.progress) as file:
            return uploader.upload(
                model,
                file,
                kind=kind,
                metadata=metadata or {},
                parents=parent_ids,
                force_new_version=force_new_version,
            )

    def push_folder(
        self,
        model: str,
        directory: str | os.PathLike[str],
        *,
        kind: str = "base",
        metadata: dict[str, Any] | None = None,
        parents: list[ArtifactLike] | None = None,
    ) -> Artifact:
        """Upload a model folder (``save_pretrained`` output: sharded safetensors, their index, config,
        tokenizer files, README.md) as the model's next version, all files or none.

        Every file is hashed and checked first: pickles (``.bin``, ``.pt``, ``.pth``, ``.pkl``, ``.ckpt``)
        raise ``NotSafetensorsError`` before anything is sent. ``.git/`` and ``.cache/`` are left out. The
        version appears only once every file is stored; a push that fails midway leaves no version, and
        running the same push again continues it (only the files the service lacks are sent).
        """
        parent_ids = [self.resolve(p).id for p in parents or []]
        files = folder_files(directory)
        uploader = FolderUploader(self._transport, self._client.cache, progress=self._client.progress)
        return uploader.push(model, files, kind=kind, metadata=metadata or {}, parents=parent_ids)

    def resolve(self, ref: ArtifactLike) -> Artifact:
        """The artifact a reference points at now (an alias or ``latest`` may move later)."""
        if isinstance(ref, Artifact):
            return ref
        parsed = parse_ref(ref)
        if parsed.artifact_id is not None:
            path = f"/v1/artifacts/{segment(parsed.artifact_id)}"
        else:
            assert parsed.model is not None
            path = f"{model_path(parsed.model)}/artifacts/{segment(parsed.selector)}"
        return Artifact.from_json(self._transport.request_json("GET", path))

    get = resolve

    def list(self, model: str, *, kind: str | None = None, page_size: int = 50) -> Iterator[Artifact]:
        """The model's versions, oldest first."""
        params = {"kind": kind, "page_size": page_size}
        for item in self._pages(f"{model_path(model)}/artifacts", params):
            yield Artifact.from_json(item)

    def download(self, ref: ArtifactLike, path: str | os.PathLike[str] | None = None) -> Path:
        """The artifact's file, fetched into the cache once (resumed, verified); copied to ``path`` if given.

        With no ``path`` the cached file itself is returned: treat it as read-only. As with ``cp``, a
        ``path`` that is a directory, or ends with ``/`` (the directory is then created), receives
        ``<name>-v<version>.safetensors``; any other ``path`` is the file's name.

        A model folder (``file_count > 1``) needs ``path``: a directory that is, or ends with ``/``, receives
        ``<name>-v<version>/`` with every file at its path; any other ``path`` is the folder itself. Each
        file goes through the cache like a one-file download (resumed, verified, shared by versions).
        """
        artifact = self.resolve(ref)
        if artifact.file_count > 1:
            if path is None:
                raise ValueError(
                    f"{artifact.ref} is a model folder of {artifact.file_count} files; give path= a directory"
                )
            return download_folder(self._transport, self._client.cache, artifact, path, progress=self._client.progress)
        cached = fetch_to_cache(self._transport, self._client.cache, artifact, progress=self._client.progress)
        if path is None:
            return cached
        return copy_out(cached, path, f"{artifact.model.split('/')[1]}-v{artifact.version}.safetensors")

    def load(self, ref: ArtifactLike, *, framework: Framework = "numpy") -> dict[str, Any]:
        """The artifact's tensors as numpy arrays (default) or torch tensors, via the cache."""
        return load_state_dict(self.download(ref), framework)

    def tensors(self, ref: ArtifactLike) -> TensorIndex:
        """Names, dtypes and shapes, read from the stored header: nothing is downloaded."""
        artifact_id = self.resolve(ref).id
        data = self._transport.request_json("GET", f"/v1/artifacts/{segment(artifact_id)}/tensors")
        return TensorIndex.from_json(data)

    def update_metadata(self, ref: ArtifactLike, metadata: dict[str, Any]) -> Artifact:
        """Merge keys into the user metadata (a ``None`` value removes a key); the bytes never change."""
        artifact_id = self.resolve(ref).id
        data = self._transport.request_json(
            "PATCH", f"/v1/artifacts/{segment(artifact_id)}/metadata", json={"metadata": metadata}
        )
        return Artifact.from_json(data)

    def lineage(self, ref: ArtifactLike) -> builtins.list[Artifact]:
        """Every ancestor (parents, their parents ...), nearest first, each once."""
        start = self.resolve(ref)
        seen = {start.id}
        queue = deque(p.id for p in start.parents)
        ancestors: builtins.list[Artifact] = []
        while queue:
            artifact_id = queue.popleft()
            if artifact_id in seen:
                continue
            seen.add(artifact_id)
            ancestor = self.resolve(artifact_id)
            ancestors.append(ancestor)
            queue.extend(p.id for p in ancestor.parents)
        return ancestors

    # Aliases: movable names (prod, staging ...) for versions of one model. ``latest`` moves by itself.

    def aliases(self, model: str) -> builtins.list[Alias]:
        return [Alias.from_json(a) for a in self._transport.request_json("GET", f"{model_path(model)}/aliases")]

    def set_alias(self, model: str, alias: str, target: int | ArtifactLike) -> Alias:
        """Point ``alias`` at a version (``3``, ``"v3"``), an artifact, or any reference to one of this model."""
        if isinstance(target, str) and target.lstrip("vV").isdigit():
            target = int(target.lstrip("vV"))
        if isinstance(target, int):
            body: dict[str, Any] = {"version": target}
        else:
            body = {"artifact": self.resolve(target).id}
        path = f"{model_path(model)}/aliases/{segment(alias)}"
        return Alias.from_json(self._transport.request_json("PUT", path, json=body))

    def delete_alias(self, model: str, alias: str) -> None:
        self._transport.request("DELETE", f"{model_path(model)}/aliases/{segment(alias)}")
