"""The one HTTP layer of the SDK: auth, typed errors and the one retry policy.

Every request the SDK makes goes through ``Transport``. Retries happen on 408, 429 and 5xx answers and on
connection errors, with exponential backoff and jitter, honouring ``Retry-After``. A request that is not
idempotent (an artifact upload creates a new version) is resent only when it certainly did not reach the
service: the connection failed before or while sending, or the service answered with a retryable status
(a failed request stores nothing). Bodies are given as factories so every try re-opens the file.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from patchhub._version import __version__
from patchhub.config import Credentials
from patchhub.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    PatchhubError,
    error_from_response,
)

T = TypeVar("T")

# A request body: bytes, or a factory that opens a fresh iterator of chunks for each try.
Body = bytes | Callable[[], Iterable[bytes]]

# Query parameters; a sequence value repeats the key (``parent=a&parent=b``).
Params = Mapping[str, str | int | float | bool | Sequence[str] | None]

NOT_RETRYABLE_5XX = frozenset({501, 505})  # "not implemented" and "version not supported" never change
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Failures that happen before the service could have acted on the whole request.
_NOT_DELIVERED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError, httpx.WriteTimeout)


class ConnectionLost(APIConnectionError):
    """A transport error, remembering whether the service may have acted on the request."""

    def __init__(self, detail: str, *, maybe_delivered: bool) -> None:
        super().__init__(detail)
        self.maybe_delivered = maybe_delivered


class TimedOut(APITimeoutError, ConnectionLost):
    pass


def is_retryable_status(status: int) -> bool:
    """408 and 429 (try later), and 5xx: the service failed and, by its contract, stored nothing."""
    return status in (408, 429) or (status >= 500 and status not in NOT_RETRYABLE_5XX)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3  # extra tries after the first one
    initial_delay: float = 0.5  # seconds before the first retry; doubles on each further one
    max_delay: float = 8.0  # cap on one backoff delay
    max_retry_after: float = 60.0  # a longer Retry-After is not honoured (we give up instead)
    jitter: float = 0.25  # the backoff delay is scaled by a random factor in [1 - jitter, 1]
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)  # injectable clock

    def backoff(self, retry_number: int) -> float:
        """Delay before retry ``retry_number`` (1-based) when the service gave no Retry-After."""
        delay = min(self.initial_delay * 2 ** (retry_number - 1), self.max_delay)
        return delay * (1 - self.jitter * random.random())

    def should_retry(self, exc: PatchhubError, *, idempotent: bool) -> bool:
        if isinstance(exc, APIStatusError):
            if not is_retryable_status(exc.status_code):
                return False
            return exc.retry_after is None or exc.retry_after <= self.max_retry_after
        if isinstance(exc, ConnectionLost):
            return idempotent or not exc.maybe_delivered
        return False

    def delay(self, exc: PatchhubError, retry_number: int) -> float:
        retry_after = exc.retry_after if isinstance(exc, APIStatusError) else None
        return retry_after if retry_after is not None else self.backoff(retry_number)


@contextlib.contextmanager
def translate_transport_errors(service: str | None = None) -> Iterator[None]:
    """Turn httpx's transport exceptions into the SDK's connection errors, naming the service (its base URL)."""
    try:
        yield
    except httpx.TransportError as exc:
        where = service or _origin(_request_url(exc))
        delivered = not isinstance(exc, _NOT_DELIVERED)
        if isinstance(exc, httpx.TimeoutException):
            detail = f"the request to {where} timed out ({type(exc).__name__})"
            raise TimedOut(detail, maybe_delivered=delivered) from exc
        if isinstance(exc, httpx.ConnectError):
            detail = (
                f"cannot connect to {where} ({exc or type(exc).__name__}): is the service running there? "
                "(another one: --url or PATCHHUB_URL)"
            )
        else:
            detail = f"connection problem with {where}: {exc or type(exc).__name__}"
        raise ConnectionLost(detail, maybe_delivered=delivered) from exc


def _request_url(exc: httpx.TransportError) -> httpx.URL | None:
    try:
        return exc.request.url
    except RuntimeError:  # raised outside a request
        return None


def _origin(url: httpx.URL | None) -> str:
    return "the service" if url is None else str(url.copy_with(path="/", query=None, fragment=None)).rstrip("/")


class Transport:
    """An authenticated ``httpx.Client`` with typed errors and retries."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        timeout: float | httpx.Timeout,
        policy: RetryPolicy,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.credentials = credentials
        self._owns_client = http_client is None
        self._client = http_client or httpx.Client(timeout=timeout)
        self._headers = {"User-Agent": f"patchhub-python/{__version__}"}
        if credentials.token:
            self._headers["Authorization"] = f"Bearer {credentials.token}"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def with_retries(self, operation: Callable[[], T], *, idempotent: bool = True) -> T:
        """Run ``operation`` until it succeeds, retrying what the policy allows."""
        retry_number = 0
        while True:
            try:
                return operation()
            except PatchhubError as exc:
                retry_number += 1
                if retry_number > self.policy.max_retries or not self.policy.should_retry(exc, idempotent=idempotent):
                    raise
                self.policy.sleep(self.policy.delay(exc, retry_number))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        body: Body | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """One call, retried by the policy; returns the (fully read) 2xx response or raises a typed error."""
        if idempotent is None:
            idempotent = method.upper() in IDEMPOTENT_METHODS

        def once() -> httpx.Response:
            content = body() if callable(body) else body
            with self.open(method, path, params=params, json=json, content=content, headers=headers) as resp:
                with translate_transport_errors(self.base_url):
                    resp.read()
                return resp

        return self.with_retries(once, idempotent=idempotent)

    def send_to_store(self, method: str, url: str, content: bytes) -> httpx.Response:
        """One request to a presigned URL of the service's object store: no Authorization (the URL carries
        its own signature), typed errors naming the store's host. No retries here."""
        with translate_transport_errors():
            response = self._client.request(
                method, url, content=content, headers={"User-Agent": self._headers["User-Agent"]}
            )
        if response.is_error:
            raise error_from_response(response)
        return response

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return response.json() if response.content else None

    @contextlib.contextmanager
    def open(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = False,
    ) -> Iterator[httpx.Response]:
        """One try, streamed: yields a 2xx response whose body is not read yet (no retries here).

        ``follow_redirects``: for downloads, which the service may answer with a redirect to a presigned URL
        of its object store. httpx drops the Authorization header when the redirect leaves the service's
        origin, and the presigned URL needs none; errors then name the host that failed.
        """
        request = self._client.build_request(
            method,
            self.url(path),
            params=params,
            json=json,
            content=content,
            headers={**self._headers, **(headers or {})},
        )
        where = None if follow_redirects else self.base_url
        with translate_transport_errors(where):
            response = self._client.send(request, stream=True, follow_redirects=follow_redirects)
        try:
            if response.is_error:
                with translate_transport_errors(where):
                    response.read()
                error = error_from_response(response)
                if isinstance(error, AuthenticationError):
                    error.hint = self.credentials.refusal_hint(self.base_url)
                raise error
            yield response
        finally:
            response.close()
