"""Uploading a file as a new artifact version: one streamed request, or the resumable parts API.

The file is hashed first and its sha256 sent along, so the service checks it end to end. Files of at
least ``multipart_threshold`` bytes go through the resumable API in parts of ``part_size`` bytes (on S3,
straight to the bucket through presigned URLs when the service offers it, several parts at once); the
upload id is remembered in the cache, so rerunning an interrupted upload of the same file continues after
the parts the service already holds (``GET /v1/uploads/{id}``) instead of starting again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchhub._http import ConnectionLost, Transport
from patchhub._progress import progress_bar, waiting
from patchhub.cache import BlobCache
from patchhub.download import file_sha256
from patchhub.errors import ConflictError, NotFoundError, NotSafetensorsError
from patchhub.resources.models import model_path
from patchhub.resources.uploads import Uploads
from patchhub.types import Artifact, Upload

log = logging.getLogger("patchhub")
METADATA_HEADER = "X-Patchhub-Metadata"
STREAM_CHUNK_BYTES = 1 << 20
MIN_DIRECT_PART_SIZE = 5 * 1024 * 1024  # S3's floor for every part of a multipart upload but the last
CLOCK_SKEW_S = 300  # tolerated difference between our clock and the service's when matching an upload
PREFIX_BYTES = 16  # enough of a file to tell safetensors from a pickle
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's default format: a zip holding a pickle
_PICKLE_PROTOCOL = 0x80  # pickle protocol 2+ (torch.save with _use_new_zipfile_serialization=False, pickle.dump)


@dataclass(frozen=True)
class UploadOptions:
    multipart_threshold: int = 64 * 1024 * 1024  # files this large or larger use the resumable API
    part_size: int = 16 * 1024 * 1024  # bytes per part of a resumable upload (the last may be shorter)
    direct_parts_in_flight: int = 4  # parts sent at once straight to the object store (memory: that many parts)


@dataclass(frozen=True)
class LocalFile:
    """The bytes to upload, already hashed: a file on disk or an in-memory buffer."""

    size: int
    sha256: str
    path: Path | None = None
    data: bytes | None = None

    def read(self, start: int, end: int) -> bytes:
        if self.data is not None:
            return self.data[start:end]
        assert self.path is not None
        with open(self.path, "rb") as handle:
            handle.seek(start)
            return handle.read(end - start)

    def chunks(self, on_chunk: Callable[[int], object]) -> Iterator[bytes]:
        """The whole content in chunks, opened afresh on each call (so a retry resends it from the start)."""
        if self.data is not None:
            for start in range(0, self.size, STREAM_CHUNK_BYTES):
                chunk = self.data[start : start + STREAM_CHUNK_BYTES]
                on_chunk(len(chunk))
                yield chunk
            return
        assert self.path is not None
        with open(self.path, "rb") as handle:
            while chunk := handle.read(STREAM_CHUNK_BYTES):
                on_chunk(len(chunk))
                yield chunk


def write_state_dict(state_dict: Mapping[str, Any], path: Path, metadata: dict[str, str] | None) -> None:
    """Save torch tensors or numpy arrays as safetensors (torch when any value is a torch tensor)."""
    if any(type(v).__module__.startswith("torch") for v in state_dict.values()):
        import torch
        from safetensors.torch import save_file as save_torch

        seen: set[int] = set()
        tensors: dict[str, torch.Tensor] = {}
        for name, value in state_dict.items():
            tensor = value if isinstance(value, torch.Tensor) else torch.from_numpy(value)
            tensor = tensor.detach().cpu().contiguous()
            if tensor.data_ptr() in seen:  # tied weights: safetensors refuses shared storage
                tensor = tensor.clone()
            seen.add(tensor.data_ptr())
            tensors[name] = tensor
        save_torch(tensors, str(path), metadata=metadata)
    else:
        import numpy as np
        from safetensors.numpy import save_file as save_numpy

        save_numpy({k: np.ascontiguousarray(v) for k, v in state_dict.items()}, str(path), metadata=metadata)


@contextlib.contextmanager
def local_file(
    source: str | os.PathLike[str] | bytes | None,
    state_dict: Mapping[str, Any] | None,
    file_metadata: dict[str, str] | None = None,
    *,
    progress: bool = False,
) -> Iterator[LocalFile]:
    """Check and hash what is to be uploaded; a state_dict is first written to a temporary safetensors file."""
    if (source is None) == (state_dict is None):
        raise ValueError("give exactly one of a path or bytes, or state_dict=")
    if isinstance(source, bytes):
        check_safetensors(source[:PREFIX_BYTES], "the bytes given")
        yield LocalFile(len(source), hashlib.sha256(source).hexdigest(), data=source)
        return
    if source is not None:
        path = Path(source)
        yield _hashed(path, path, progress)
        return
    assert state_dict is not None
    with tempfile.TemporaryDirectory(prefix="patchhub-") as tmp:
        path = Path(tmp) / "state_dict.safetensors"
        write_state_dict(state_dict, path, file_metadata)
        yield _hashed(path, Path("state_dict"), progress)


def _hashed(path: Path, label: Path, progress: bool) -> LocalFile:
    with open(path, "rb") as handle:
        check_safetensors(handle.read(PREFIX_BYTES), str(label))
    size = path.stat().st_size
    with progress_bar(size, f"hash {label.name}", enabled=progress) as bar:
        return LocalFile(size, file_sha256(path, bar.update), path=path)


def check_safetensors(prefix: bytes, name: str) -> None:
    """Refuse, before anything is sent, a file that is plainly not safetensors, saying what it is instead.

    A safetensors file starts with the header's length (8 bytes, little-endian) and then the JSON header.
    The service checks the whole file; this only turns the common mistakes into a sentence about the fix.
    """
    if prefix[8:9] == b"{":  # safetensors-shaped (a header length's low byte may well be 0x80)
        return
    if prefix.startswith(_ZIP_MAGIC) or prefix[:1] == bytes([_PICKLE_PROTOCOL]):
        raise NotSafetensorsError(
            f"{name} is a Python pickle (torch.save / .pt / .pth), not safetensors; the registry never unpickles. "
            'Convert it: python -c "import torch; from safetensors.torch import save_file; '
            f"save_file(torch.load('{name}', weights_only=True), 'model.safetensors')\""
        )
    raise NotSafetensorsError(
        f"{name} is not a safetensors file (it does not start with a header length and a JSON header); "
        "save weights with safetensors (safetensors.torch.save_file or safetensors.numpy.save_file)"
    )


class ArtifactUploader:
    def __init__(
        self, transport: Transport, uploads: Uploads, cache: BlobCache, options: UploadOptions, *, progress: bool
    ) -> None:
        self.transport = transport
        self.uploads = uploads
        self.cache = cache
        self.options = options
        self.progress = progress

    def upload(
        self,
        model: str,
        file: LocalFile,
        *,
        kind: str,
        metadata: dict[str, Any],
        parents: list[str],
        force_new_version: bool = False,
    ) -> Artifact:
        if not force_new_version:
            latest = self._latest(model)
            if latest is not None and latest.sha256 == file.sha256 and latest.kind == kind:
                log.info("%s already holds these bytes; no new version (force_new_version=True makes one)", latest.ref)
                return dataclasses.replace(latest, unchanged=True)
        if file.size >= self.options.multipart_threshold:
            return self._resumable(model, file, kind=kind, metadata=metadata, parents=parents)
        return self._single(model, file, kind=kind, metadata=metadata, parents=parents)

    def _single(
        self, model: str, file: LocalFile, *, kind: str, metadata: dict[str, Any], parents: list[str]
    ) -> Artifact:
        params = {"kind": kind, "sha256": file.sha256, "parent": parents}
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(file.size),
            METADATA_HEADER: json.dumps(metadata),
        }
        started = time.time()
        with progress_bar(file.size, f"upload {model}", enabled=self.progress) as bar:

            def body() -> Iterator[bytes]:
                bar.reset(total=file.size)
                yield from file.chunks(bar.update)
                bar.set_description_str(f"upload {model}: stored, the service is verifying", refresh=True)

            def send() -> Any:
                return self.transport.request_json(
                    "PUT",
                    f"{model_path(model)}/artifacts",
                    params=params,
                    headers=headers,
                    body=body,
                    idempotent=False,
                )

            try:
                data = send()
            except ConnectionLost as exc:
                # The answer was lost after the body went out: the version may exist. Look before resending.
                if not exc.maybe_delivered:
                    raise
                landed = self._landed_version(model, file.sha256, started)
                if landed is not None:
                    return landed
                data = send()
        return Artifact.from_json(data)

    def _latest(self, model: str) -> Artifact | None:
        try:
            return Artifact.from_json(self.transport.request_json("GET", f"{model_path(model)}/artifacts/latest"))
        except NotFoundError:  # no version yet (or no such model: the upload itself then says so)
            return None

    def _landed_version(self, model: str, sha256: str, started: float) -> Artifact | None:
        latest = self._latest(model)
        if latest is None:
            return None
        recent = latest.created_at is not None and latest.created_at.timestamp() >= started - CLOCK_SKEW_S
        return latest if latest.sha256 == sha256 and recent else None

    def _resumable(
        self, model: str, file: LocalFile, *, kind: str, metadata: dict[str, Any], parents: list[str]
    ) -> Artifact:
        key = _upload_key(model, file, kind, metadata, parents, self.options.part_size)
        upload = self._recalled_upload(key)
        if upload is not None and upload.artifact_id is not None:
            self.cache.forget_upload(key)
            return self._artifact(upload.artifact_id)

        def new_upload() -> Upload:
            return self._new_upload(key, model, file, kind=kind, metadata=metadata, parents=parents)

        upload = upload or new_upload()
        try:
            artifact = self._send_and_complete(upload, model, file, new_upload)
        except _UploadRaced:
            # Another upload of the same bytes reached the store first and the service dropped this one's parts:
            # once more (checked against the stored bytes this time).
            try:
                artifact = self._send_and_complete(new_upload(), model, file, new_upload)
            except _UploadRaced as again:
                raise again.conflict from None
        self.cache.forget_upload(key)
        return artifact

    def _send_and_complete(
        self, upload: Upload, model: str, file: LocalFile, new_upload: Callable[[], Upload]
    ) -> Artifact:
        with progress_bar(file.size, f"upload {model}", enabled=self.progress) as bar:
            try:
                self._send_parts(upload, file, bar.update)
            except NotFoundError:
                if upload.transfer != "direct":
                    raise
                # The store no longer holds this upload (gc drops staged uploads left idle, a complete that
                # failed its checks drops the bytes): a new upload, every part sent again.
                upload = new_upload()
                bar.reset(total=file.size)
                self._send_parts(upload, file, bar.update)
        with waiting(f"upload {model}: the service is joining and verifying the parts", enabled=self.progress):
            return self._complete(upload.id, file.sha256)

    def _new_upload(
        self, key: str, model: str, file: LocalFile, *, kind: str, metadata: dict[str, Any], parents: list[str]
    ) -> Upload:
        # Straight to the object store when the service offers it (S3 takes parts of 5 MiB at the least). The
        # sha256 sent now lets the service join the parts where the file will stay instead of copying it there.
        transfer = "direct" if self.options.part_size >= MIN_DIRECT_PART_SIZE else "streamed"
        upload = self.uploads.create(
            model, kind=kind, metadata=metadata, parents=parents, transfer=transfer, sha256=file.sha256
        )
        self.cache.remember_upload(key, upload.id)
        return upload

    def _send_parts(self, upload: Upload, file: LocalFile, advance: Callable[[int], object]) -> None:
        """The parts the service (or its store) lacks: the same size and sha256 (streamed) or MD5 (direct)."""
        stored = {part.number: part for part in upload.parts}
        part_size = self.options.part_size
        starts = list(enumerate(range(0, file.size, part_size), start=1))
        if upload.transfer != "direct":
            for number, start in starts:
                data = file.read(start, min(start + part_size, file.size))
                have = stored.get(number)
                if have is None or have.size != len(data) or have.sha256 != hashlib.sha256(data).hexdigest():
                    self.uploads.put_part(upload.id, number, data)
                advance(len(data))
            return

        def send_direct(number: int, start: int) -> int:
            data = file.read(start, min(start + part_size, file.size))
            have = stored.get(number)
            # The MD5 only to compare with a part the store already holds (it costs twice a sha256's time).
            if have is None or have.size != len(data) or have.etag != f'"{_md5(data)}"':
                self.uploads.put_part_direct(upload.id, number, data)
            return len(data)

        with ThreadPoolExecutor(self.options.direct_parts_in_flight, thread_name_prefix="patchhub-part") as pool:
            for sent in pool.map(lambda item: send_direct(*item), starts):
                advance(sent)

    def _recalled_upload(self, key: str) -> Upload | None:
        upload_id = self.cache.recall_upload(key)
        if upload_id is None:
            return None
        try:
            return self.uploads.get(upload_id)
        except NotFoundError:  # expired, aborted or collected: start a new one
            self.cache.forget_upload(key)
            return None

    def _complete(self, upload_id: str, sha256: str) -> Artifact:
        try:
            return self.uploads.complete(upload_id, sha256)
        except (ConflictError, ConnectionLost) as exc:
            # An earlier try may have completed it (its answer lost): the upload then names its artifact.
            try:
                upload = self.uploads.get(upload_id)
            except NotFoundError:
                # A 409 for an upload whose parts are gone: a concurrent upload of the same bytes got to the
                # store first (a direct upload joined at its content address); start again.
                if isinstance(exc, ConflictError):
                    raise _UploadRaced(exc) from exc
                raise
            if upload.artifact_id is None:
                raise
            return self._artifact(upload.artifact_id)

    def _artifact(self, artifact_id: str) -> Artifact:
        return Artifact.from_json(self.transport.request_json("GET", f"/v1/artifacts/{artifact_id}"))


class _UploadRaced(Exception):
    """The service dropped a direct upload because another upload of the same bytes reached its store first."""

    def __init__(self, conflict: ConflictError) -> None:
        super().__init__(str(conflict))
        self.conflict = conflict


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _upload_key(
    model: str, file: LocalFile, kind: str, metadata: dict[str, Any], parents: list[str], part_size: int
) -> str:
    """Identifies "this file, to this model, with these settings", so only a true rerun resumes."""
    recipe = json.dumps([model, file.sha256, kind, metadata, parents, part_size], sort_keys=True, default=str)
    return hashlib.sha256(recipe.encode()).hexdigest()[:40]
