"""What each artifact kind must hold, checked at upload (after the bytes are verified as safetensors, before
they become a version): a kind that lies would only fail later, at compose or in a job."""

from __future__ import annotations

from collections.abc import Callable

from patchhub.safetensors_format import SafetensorsError, SafetensorsHeader
from patchhub.signature import FORMAT_NAME, Signature
from registry.errors import Invalid
from registry.models.artifact import ArtifactKind

WEIGHT_KINDS = (ArtifactKind.base, ArtifactKind.checkpoint, ArtifactKind.pruned)


def check_content(kind: ArtifactKind, header: SafetensorsHeader, read_file: Callable[[], bytes]) -> None:
    """Raise Invalid unless the file is what ``kind`` says. ``read_file`` gives the whole file; it is called
    only for signatures (compose loads them whole too)."""
    if kind is ArtifactKind.rws:
        try:
            Signature.from_bytes(read_file())
        except (SafetensorsError, ValueError) as exc:
            raise Invalid(f"kind rws needs a patchhub signature (docs/rws.md): {exc}") from None
    elif header.metadata.get("format") == FORMAT_NAME:
        raise Invalid(f"this file is an rws signature; upload it with kind=rws, not {kind.value}")
    elif kind in WEIGHT_KINDS and not header.tensors:
        raise Invalid(f"kind {kind.value} needs at least one tensor")
    elif kind is ArtifactKind.dataset:
        _check_dataset(header)


def _check_dataset(header: SafetensorsHeader) -> None:
    """Image datasets are ``images`` uint8 [N, C, H, W] with ``labels`` int64 [N]; other tensors are a task's own."""
    images, labels = header.tensors.get("images"), header.tensors.get("labels")
    if images is None and labels is None:
        if not header.tensors:
            raise Invalid("kind dataset needs at least one tensor")
        return
    if images is None or labels is None:
        raise Invalid("a dataset with images or labels needs both: images uint8 [N,C,H,W], labels int64 [N]")
    if images.dtype != "U8" or len(images.shape) != 4:
        raise Invalid(f"dataset images must be uint8 [N,C,H,W], not {images.dtype}{list(images.shape)}")
    if labels.dtype != "I64" or labels.shape != images.shape[:1]:
        raise Invalid(f"dataset labels must be int64 [{images.shape[0]}], not {labels.dtype}{list(labels.shape)}")
