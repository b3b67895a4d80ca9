"""Where things live in the blob store."""

from __future__ import annotations

import re

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
BLOB_PREFIX = "sha256/"
UPLOAD_PREFIX = "uploads/"
COMPOSITION_PREFIX = "compositions/"  # cached composition outputs, by recipe hash (gc keeps them in a budget)


def is_sha256(value: str) -> bool:
    return bool(_SHA256.fullmatch(value))


def blob_key(sha256: str) -> str:
    """Content-addressed key: identical bytes are stored once."""
    if not is_sha256(sha256):
        raise ValueError(f"not a lowercase hex sha256: {sha256[:80]!r}")
    return f"{BLOB_PREFIX}{sha256[:2]}/{sha256}"


def sha256_of_key(key: str) -> str | None:
    name = key.rsplit("/", 1)[-1]
    return name if key.startswith(BLOB_PREFIX) and is_sha256(name) else None


def upload_part_key(upload_id: str, number: int) -> str:
    return f"{UPLOAD_PREFIX}{upload_id}/{number:05d}"


def composition_output_key(composition_id: str) -> str:
    return f"{COMPOSITION_PREFIX}{composition_id}"


def composition_of_key(key: str) -> str | None:
    """The composition a cached output belongs to (``compositions/{id}``, or ``compositions/{id}/{shard}`` for
    a composed shard of a folder base, either with ``.patched`` when only the patched tensors are kept)."""
    if not key.startswith(COMPOSITION_PREFIX):
        return None
    return key.removeprefix(COMPOSITION_PREFIX).split("/")[0].split(".")[0]
