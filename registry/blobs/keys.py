"""Blob keys: '/'-separated relative paths that cannot escape the store or reach its staging area."""

from __future__ import annotations

# Top-level name both stores reserve for staged, uncommitted bytes.
STAGING_DIR = ".staging"


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a safe blob key, else raise ValueError.

    Rejected: empty keys, absolute paths, backslashes, NUL, empty or '.'/'..' segments, a trailing '/',
    and anything under the reserved staging directory.
    """
    if not isinstance(key, str) or not key:
        raise ValueError("blob key must be a non-empty string")
    if "\x00" in key:
        raise ValueError(f"blob key contains NUL: {key!r}")
    if "\\" in key:
        raise ValueError(f"blob key contains a backslash: {key!r}")
    if key.startswith("/"):
        raise ValueError(f"blob key must be relative: {key!r}")
    segments = key.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise ValueError(f"blob key has an empty, '.' or '..' segment: {key!r}")
    if segments[0] == STAGING_DIR:
        raise ValueError(f"blob key is inside the reserved {STAGING_DIR!r} area: {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix follows the key rules for its complete segments; '' lists everything."""
    if not prefix:
        return prefix
    if "\x00" in prefix or "\\" in prefix or prefix.startswith("/"):
        raise ValueError(f"invalid blob key prefix: {prefix!r}")
    if any(segment in (".", "..") for segment in prefix.split("/")[:-1]):
        raise ValueError(f"invalid blob key prefix: {prefix!r}")
    return prefix
