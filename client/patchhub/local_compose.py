"""Composing on this machine: ``base + sum(scale_i * signature_i)`` with the service's own compose code.

The base and the signatures come through the sha256-keyed download cache, so a base is fetched once and
later recipes on it download only their (small) signatures. The output is cached too, under the recipe's
canonical hash (``<cache>/compositions/<recipe hash>.safetensors``): the same recipe is computed once.
Like every composition it starts from the base, so dropping a patch is composing without it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from patchhub._output import copy_out
from patchhub.compose import compose_file, recipe_hash
from patchhub.download import fetch_to_cache
from patchhub.resources.artifacts import ArtifactLike, PatchLike, patch_scale
from patchhub.signature import Signature
from patchhub.types import Artifact

if TYPE_CHECKING:
    from patchhub.client import Client

SIGNATURE_KIND = "rws"
BASE_KINDS = ("base", "checkpoint")  # what the service accepts as a composition's base


@dataclass(frozen=True)
class Recipe:
    """A composition with every reference resolved to an immutable artifact."""

    base: Artifact
    patches: list[tuple[Artifact, float]]  # (signature artifact, scale), in the order given

    @property
    def key(self) -> str:
        """The canonical recipe hash, the same the service uses: order of patches does not matter."""
        return recipe_hash(self.base.sha256, [(a.sha256, scale) for a, scale in self.patches])


def parse_patch(text: str) -> tuple[str, float]:
    """The CLI's patch syntax: ``+REF`` or ``+REF*SCALE`` (``+team/fog@v1*-0.5``) -> (REF, SCALE)."""
    if not text.startswith("+"):
        raise ValueError(f"a patch is written +REF or +REF*SCALE, not {text!r}")
    ref, star, scale_text = text[1:].rpartition("*")
    if not star:
        ref, scale_text = text[1:], "1"
    try:
        scale = float(scale_text)
    except ValueError:
        raise ValueError(f"{text!r}: the scale after '*' must be a number, not {scale_text!r}") from None
    if not ref or not math.isfinite(scale):
        raise ValueError(f"{text!r}: needs an artifact reference and a finite scale")
    return ref, scale


def resolve_recipe(client: Client, base: ArtifactLike, patches: Sequence[PatchLike]) -> Recipe:
    """Resolve every reference now (aliases move later), checking kinds and scales before any download."""
    resolved: list[tuple[Artifact, float]] = []
    for patch in patches:
        ref, scale = patch_scale(patch)
        if not math.isfinite(float(scale)):
            raise ValueError(f"the scale of patch {ref!r} is {scale!r}, not a finite number")
        artifact = client.artifacts.resolve(ref)
        if artifact.kind != SIGNATURE_KIND:
            raise ValueError(f"{artifact.ref} is a {artifact.kind} artifact; only {SIGNATURE_KIND} signatures patch")
        resolved.append((artifact, float(scale)))
    base_artifact = client.artifacts.resolve(base)
    if base_artifact.kind not in BASE_KINDS:
        raise ValueError(f"{base_artifact.ref} is a {base_artifact.kind} artifact; a base is one of {BASE_KINDS}")
    return Recipe(base_artifact, resolved)


def composition_path(client: Client, recipe: Recipe) -> Path:
    return client.cache.root / "compositions" / f"{recipe.key}.safetensors"


def compose_to_cache(client: Client, recipe: Recipe) -> Path:
    """The composed file in the cache, computed (and its inputs downloaded) only if it is not there yet.

    With no patches the composition is the base byte for byte, so the cached base file itself is returned.
    """
    if not recipe.patches:
        return _fetch(client, recipe.base)
    target = composition_path(client, recipe)
    if _is_whole(target, recipe):
        return target
    # The recipe hash is a sha256 digest, so the cache's per-blob lock serves for it too: two processes
    # composing the same recipe wait for each other instead of writing the same file.
    with client.cache.locked(recipe.key):
        if _is_whole(target, recipe):
            return target
        # The download cache verified each file's sha256: not hashed again.
        signatures = [
            (Signature.from_path(_fetch(client, artifact), artifact.sha256), scale)
            for artifact, scale in recipe.patches
        ]
        _check_architecture(client, recipe.base, [signature for signature, _ in signatures])
        base_path = _fetch(client, recipe.base)
        target.parent.mkdir(parents=True, exist_ok=True)
        compose_file(base_path, signatures, target)  # written beside, renamed into place when complete
    return target


def _check_architecture(client: Client, base: Artifact, signatures: Sequence[Signature]) -> None:
    """The service's rule: a signature that names its architecture patches only bases of that architecture."""
    named = {signature.metadata["arch"] for signature in signatures if signature.metadata.get("arch")}
    if not named:
        return
    base_arch = client.models.get(base.model).arch
    for arch in sorted(named):
        if base_arch and arch != base_arch:
            raise ValueError(f"a signature for architecture {arch!r} cannot patch a {base_arch!r} base")


def _fetch(client: Client, artifact: Artifact) -> Path:
    return fetch_to_cache(client.transport, client.cache, artifact, progress=client.progress)


def _is_whole(path: Path, recipe: Recipe) -> bool:
    """A composed file is renamed into place only once complete and always has the base's size."""
    try:
        return path.stat().st_size == recipe.base.size
    except FileNotFoundError:
        return False


def copy_to(source: Path, path: str | os.PathLike[str], recipe: Recipe) -> Path:
    """Copy a composed file to ``path``; a directory (or ``dir/``) receives ``<base name>-v<version>-<recipe[:12]>``."""
    name = recipe.base.model.split("/")[1]
    return copy_out(source, path, f"{name}-v{recipe.base.version}-{recipe.key[:12]}.safetensors")
