"""``client.compositions``: compositions computed by the service (``POST /v1/compositions``).

The service composes ``base + sum(scale * signature)`` with the same code as ``client.compose`` and caches
the output under the recipe hash, so the bytes are identical whichever side computes them. A download
lands in ``<cache>/served-compositions/<recipe hash>.safetensors``, apart from local compositions, so each
side's bytes stay checkable against the other's: it streams into ``*.incomplete``, is checked against the
announced size (and the service's sha256 once the service knows it), and is renamed into place only then.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchhub._http import translate_transport_errors
from patchhub._output import copy_out
from patchhub._progress import progress_bar
from patchhub.errors import ChecksumMismatchError
from patchhub.resources._base import Resource, segment
from patchhub.resources.artifacts import ArtifactLike, PatchLike, patch_scale
from patchhub.types import Artifact


@dataclass(frozen=True)
class Composition:
    id: str  # the canonical recipe hash; also the file's ETag
    base: str  # the base artifact's id
    patches: list[tuple[str, float]]  # (signature artifact id, scale), canonical order
    size: int
    sha256: str | None  # known once the service has computed and cached the output
    cached: bool

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Composition:
        return cls(
            id=data["id"],
            base=data["base"],
            patches=[(p["artifact"], float(p["scale"])) for p in data["patches"]],
            size=int(data["size"]),
            sha256=data.get("sha256"),
            cached=bool(data.get("cached", False)),
        )


def _reference(ref: ArtifactLike) -> str:
    return ref.id if isinstance(ref, Artifact) else ref


class Compositions(Resource):
    def create(self, base: ArtifactLike, patches: Sequence[PatchLike] = ()) -> Composition:
        """Register the recipe on the service (nothing is computed until the file is read); idempotent."""
        body = {
            "base": _reference(base),
            "patches": [
                {"artifact": _reference(ref), "scale": float(scale)} for ref, scale in map(patch_scale, patches)
            ],
        }
        return Composition.from_json(self._transport.request_json("POST", "/v1/compositions", json=body))

    def get(self, composition_id: str) -> Composition:
        return Composition.from_json(self._transport.request_json("GET", f"/v1/compositions/{segment(composition_id)}"))

    def download(self, composition: Composition | str, path: str | os.PathLike[str] | None = None) -> Path:
        """The composed file as the service computed it, fetched once into the cache; copied to ``path`` if given.

        ``path`` follows ``cp``: a directory (or ``DIR/``, created) receives ``<recipe hash>.safetensors``.
        """
        wanted = self.get(composition) if isinstance(composition, str) else composition
        cached = self._client.cache.root / "served-compositions" / f"{wanted.id}.safetensors"
        if not (cached.exists() and cached.stat().st_size == wanted.size):
            self._fetch(wanted, cached)
        return cached if path is None else copy_out(cached, path, f"{wanted.id}.safetensors")

    def _fetch(self, composition: Composition, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".incomplete")
        digest = self._transport.with_retries(lambda: self._stream(composition, partial))
        size = partial.stat().st_size
        # The service knows the sha256 once it has written its cached copy, at the latest after this GET.
        announced = composition.sha256 or self.get(composition.id).sha256
        if size != composition.size or (announced is not None and announced != digest):
            partial.unlink()
            raise ChecksumMismatchError(
                f"composition {composition.id}: got {size} bytes with sha256 {digest}, "
                f"the service announced {composition.size} bytes with sha256 {announced}"
            )
        os.replace(partial, target)

    def _stream(self, composition: Composition, partial: Path) -> str:
        """One try: the whole file into ``partial``; its sha256 computed as the bytes arrive."""
        digest = hashlib.sha256()
        label = f"composition {composition.id[:12]}"
        with (
            progress_bar(composition.size, label, enabled=self._client.progress) as bar,
            self._transport.open(
                "GET", f"/v1/compositions/{segment(composition.id)}/file", follow_redirects=True
            ) as response,
            open(partial, "wb") as sink,
            translate_transport_errors(),  # the body may come from the object store (a redirect)
        ):
            for chunk in response.iter_bytes():
                sink.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
        return digest.hexdigest()
