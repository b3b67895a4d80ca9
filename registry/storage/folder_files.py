"""The files of a model folder: which paths are allowed, which bytes are refused, and how a file that is not
safetensors is stored (hashed, size-limited, never parsed or executed).

Safetensors files (``*.safetensors``) go through ``registry.storage.ingest.Ingest`` like every upload. Any
other file is stored as opaque bytes under its sha256, after two refusals: pickle files (by name, and by
their first bytes whatever the name), because loading them runs code.
"""

from __future__ import annotations

import hashlib
import unicodedata

from registry.blobs import BlobStore, BlobWriter
from registry.errors import Invalid, PayloadTooLarge
from registry.models.artifact_file import OTHER, SAFETENSORS
from registry.storage.keys import blob_key, is_sha256

MAX_PATH_CHARS = 255
MAX_NAME_BYTES = 255  # one segment, as file systems count it (NAME_MAX)
MAX_FOLDER_FILES = 1000
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
CONVERT_HINT = (
    "pickled weights can run code when loaded and are never accepted; convert them to safetensors "
    "(safetensors.torch.save_file(state_dict, 'model.safetensors'), or save_pretrained(..., "
    "safe_serialization=True)) and push that"
)
_SNIFF_BYTES = 4096


def check_path(path: str) -> str:
    """``path`` if it is a relative '/'-separated file path a folder may hold, else Invalid."""
    if not path or len(path) > MAX_PATH_CHARS:
        raise Invalid(f"a file path must be 1-{MAX_PATH_CHARS} characters")
    if path.startswith("/") or "\\" in path:
        raise Invalid(f"file path {path[:80]!r} must be relative and use '/'")
    if any(unicodedata.category(char).startswith("C") for char in path):
        raise Invalid(f"file path {path[:80]!r} holds a control character")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise Invalid(f"file path {path[:80]!r} has an empty, '.' or '..' segment")
    if any(len(part.encode()) > MAX_NAME_BYTES for part in path.split("/")):
        raise Invalid(
            f"file path {path[:80]!r} has a name over {MAX_NAME_BYTES} bytes (UTF-8): no file system takes it"
        )
    if path.split("/")[0] in (".git", ".cache"):
        raise Invalid(f"file path {path[:80]!r} is inside {path.split('/')[0]}/, which a model folder never pushes")
    return path


def file_kind(path: str) -> str:
    """``safetensors`` or ``other``; pickle files are refused with a sentence saying what to do instead."""
    lowered = path.lower()
    if lowered.endswith(PICKLE_SUFFIXES):
        raise Invalid(f"{path}: {CONVERT_HINT}")
    return SAFETENSORS if lowered.endswith(".safetensors") else OTHER


def looks_pickled(head: bytes) -> bool:
    """The first bytes of a pickle (protocol 2 and later start with PROTO) or of ``torch.save``'s zip file
    (whose first member is ``<name>/data.pkl``)."""
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return True
    return head.startswith(b"PK\x03\x04") and b".pkl" in head[:512]


class OtherFileIngest:
    """Store a non-safetensors file: hashed while it streams, at most ``max_bytes``, refused if pickled,
    committed under its sha256 only when whole (already-stored bytes are not stored twice)."""

    def __init__(self, store: BlobStore, path: str, *, expected_sha256: str | None, max_bytes: int) -> None:
        if expected_sha256 is not None and not is_sha256(expected_sha256):
            raise Invalid("sha256 must be 64 lowercase hex characters")
        self._store, self._path, self._expected, self._max_bytes = store, path, expected_sha256, max_bytes
        self._hash = hashlib.sha256()
        self._head = b""
        self._size = 0
        self._writer: BlobWriter | None = store.open_writer(None)

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._max_bytes:
            self.abort()
            raise PayloadTooLarge(
                f"{self._path} is larger than the limit of {self._max_bytes} bytes for a file that is not "
                "safetensors (PATCHHUB_MAX_FOLDER_FILE_BYTES)"
            )
        if len(self._head) < _SNIFF_BYTES:
            self._head += chunk[: _SNIFF_BYTES - len(self._head)]
            if looks_pickled(self._head):
                self.abort()
                raise Invalid(f"{self._path} is a pickle: {CONVERT_HINT}")
        self._hash.update(chunk)
        if self._writer is not None:
            self._writer.write(chunk)

    def finish(self) -> tuple[str, int]:
        """The stored file's (sha256, size)."""
        digest = self._hash.hexdigest()
        if self._expected is not None and digest != self._expected:
            self.abort()
            raise Invalid(f"{self._path}: the bytes have sha256 {digest}, not the {self._expected} the client sent")
        writer, self._writer = self._writer, None
        if writer is not None:
            if self._store.exists(blob_key(digest)):
                writer.abort()
            else:
                writer.commit(blob_key(digest))
        return digest, self._size

    def abort(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.abort()
