"""``patchhub.Client``: the entry point of the SDK."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, overload

import httpx

from patchhub._http import RetryPolicy, Transport
from patchhub._progress import Progress, enabled
from patchhub.cache import BlobCache
from patchhub.config import resolve_base_url, resolve_cache_dir, resolve_credentials
from patchhub.local_compose import (
    ArtifactLike,
    PatchLike,
    compose_to_cache,
    copy_to,
    resolve_recipe,
)
from patchhub.resources import Artifacts, Compositions, Jobs, Models, Namespaces, Tokens, Uploads
from patchhub.state_dict import Framework, load_state_dict
from patchhub.types import WhoAmI
from patchhub.upload import UploadOptions

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class Client:
    """A connection to one patchhub service.

    ``base_url`` and ``token`` default to ``PATCHHUB_URL`` / ``PATCHHUB_TOKEN``, then to what
    ``patchhub login`` stored. Downloads are cached by sha256 under ``cache_dir`` (default
    ``PATCHHUB_CACHE`` or ``~/.cache/patchhub``). Use it as a context manager, or call ``close()``.
    ``http_client`` replaces the internal ``httpx.Client`` (then ``timeout`` is that client's business).
    Progress bars go to stderr when it is a terminal; ``progress=True`` forces them, ``False`` hides them.

    >>> client = Client()
    >>> art = client.artifacts.upload("team/resnet", "weights.safetensors", kind="base")
    >>> weights = client.artifacts.load("team/resnet@prod")
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        progress: Progress = None,
        cache_dir: str | os.PathLike[str] | None = None,
        multipart_threshold: int = UploadOptions.multipart_threshold,
        part_size: int = UploadOptions.part_size,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        if part_size < 1 or multipart_threshold < 1:
            raise ValueError("part_size and multipart_threshold must be positive")
        self.base_url = resolve_base_url(base_url)
        self.progress = enabled(progress)
        self.cache = BlobCache(resolve_cache_dir(cache_dir))
        self.upload_options = UploadOptions(multipart_threshold=multipart_threshold, part_size=part_size)
        self.transport = Transport(
            self.base_url,
            resolve_credentials(self.base_url, token),
            timeout=timeout,
            policy=retry_policy or RetryPolicy(max_retries=max_retries),
            http_client=http_client,
        )
        self.namespaces = Namespaces(self)
        self.tokens = Tokens(self)
        self.models = Models(self)
        self.artifacts = Artifacts(self)
        self.uploads = Uploads(self)
        self.jobs = Jobs(self)
        self.compositions = Compositions(self)  # computed by the service; ``compose`` computes here

    def whoami(self) -> WhoAmI:
        return self.tokens.whoami()

    @overload
    def compose(
        self,
        base: ArtifactLike,
        patches: Sequence[PatchLike] = ...,
        *,
        path: str | os.PathLike[str] | None = ...,
        as_state_dict: Literal[False] = ...,
        framework: Framework = ...,
    ) -> Path: ...

    @overload
    def compose(
        self,
        base: ArtifactLike,
        patches: Sequence[PatchLike] = ...,
        *,
        path: str | os.PathLike[str] | None = ...,
        as_state_dict: Literal[True],
        framework: Framework = ...,
    ) -> dict[str, Any]: ...

    def compose(
        self,
        base: ArtifactLike,
        patches: Sequence[PatchLike] = (),
        *,
        path: str | os.PathLike[str] | None = None,
        as_state_dict: bool = False,
        framework: Framework = "numpy",
    ) -> Path | dict[str, Any]:
        """``base + sum(scale * signature)`` computed here, with the same code and bytes as the service.

        ``patches`` are signature (``rws``) artifacts, each with a scale (``("team/fog@v1", 0.5)``) or
        alone (scale 1.0). Inputs come through the download cache (a base is fetched once) and the output
        is cached under the recipe hash, so repeating a recipe downloads and computes nothing. Returns the
        cached file (read-only; copied to ``path`` if given), or its tensors with ``as_state_dict=True``
        as numpy arrays or, with ``framework="torch"``, torch tensors.
        """
        recipe = resolve_recipe(self, base, patches)
        composed = compose_to_cache(self, recipe)
        if path is not None:
            composed = copy_to(composed, path, recipe)
        return load_state_dict(composed, framework) if as_state_dict else composed

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:  # the token is never shown
        return f"Client(base_url={self.base_url!r})"
