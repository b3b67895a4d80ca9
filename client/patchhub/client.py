"""``patchhub.Client``: the entry point of the SDK."""

from __future__ import annotations

import os
from types import TracebackType

import httpx

from patchhub._http import RetryPolicy, Transport
from patchhub.cache import BlobCache
from patchhub.config import resolve_base_url, resolve_cache_dir, resolve_token
from patchhub.resources import Artifacts, Models, Namespaces, Tokens, Uploads
from patchhub.types import WhoAmI
from patchhub.upload import UploadOptions

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class Client:
    """A connection to one patchhub service.

    ``base_url`` and ``token`` default to ``PATCHHUB_URL`` / ``PATCHHUB_TOKEN``, then to what
    ``patchhub login`` stored. Downloads are cached by sha256 under ``cache_dir`` (default
    ``PATCHHUB_CACHE`` or ``~/.cache/patchhub``). Use it as a context manager, or call ``close()``.
    ``http_client`` replaces the internal ``httpx.Client`` (then ``timeout`` is that client's business).

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
        progress: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        multipart_threshold: int = UploadOptions.multipart_threshold,
        part_size: int = UploadOptions.part_size,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        if part_size < 1 or multipart_threshold < 1:
            raise ValueError("part_size and multipart_threshold must be positive")
        self.base_url = resolve_base_url(base_url)
        self.progress = progress
        self.cache = BlobCache(resolve_cache_dir(cache_dir))
        self.upload_options = UploadOptions(multipart_threshold=multipart_threshold, part_size=part_size)
        self.transport = Transport(
            self.base_url,
            resolve_token(self.base_url, token),
            timeout=timeout,
            policy=retry_policy or RetryPolicy(max_retries=max_retries),
            http_client=http_client,
        )
        self.namespaces = Namespaces(self)
        self.tokens = Tokens(self)
        self.models = Models(self)
        self.artifacts = Artifacts(self)
        self.uploads = Uploads(self)

    def whoami(self) -> WhoAmI:
        return self.tokens.whoami()

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
