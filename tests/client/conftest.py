"""SDK tests run against the real API (embedded default and Postgres + S3), on a loopback port."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from patchhub import Client
from tests.fixtures.services import LiveServer, NamespaceAccess, live_server, namespace, postgres_url  # noqa: F401
from tests.fixtures.workers import jobs_namespace, jobs_server, redis_server, start_worker  # noqa: F401

# Decides the fate of one request: None lets it through, an exception is raised instead of sending it.
FailureHook = Callable[[httpx.Request], Exception | None]
# For one request: after how many response-body bytes the connection drops (None: it does not).
CutHook = Callable[[httpx.Request], int | None]


class CutStream(httpx.SyncByteStream):
    """A response body that breaks off with a ReadError after ``limit`` bytes."""

    def __init__(self, inner: httpx.SyncByteStream, limit: int) -> None:
        self.inner = inner
        self.limit = limit

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self.inner:
            yield chunk[: self.limit - sent]
            sent += len(chunk)
            if sent >= self.limit:
                raise httpx.ReadError("connection dropped mid-body")

    def close(self) -> None:
        self.inner.close()


class RecordingTransport(httpx.BaseTransport):
    """A real HTTP transport that records every request and can fail chosen ones."""

    def __init__(self, fail: FailureHook | None = None, cut: CutHook | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.fail = fail
        self.cut = cut
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail is not None and (error := self.fail(request)) is not None:
            raise error
        response = self.inner.handle_request(request)
        limit = self.cut(request) if self.cut is not None else None
        if limit is None:
            return response
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(response.status_code, headers=response.headers, stream=CutStream(response.stream, limit))

    def close(self) -> None:
        self.inner.close()

    def paths(self, method: str | None = None) -> list[str]:
        return [r.url.path for r in self.requests if method is None or r.method == method]


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing from the developer's own login, environment or cache leaks into a test."""
    for name in ("PATCHHUB_URL", "PATCHHUB_TOKEN", "PATCHHUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config" / "patchhub.json"
    monkeypatch.setenv("PATCHHUB_CONFIG", str(config))
    return config


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def make_client(
    live_server: LiveServer,  # noqa: F811
    namespace: NamespaceAccess,  # noqa: F811
    cache_dir: Path,
) -> Iterator[Callable[..., Client]]:
    """``make_client(**overrides)``: an SDK client with the namespace's write token and the test's cache."""
    clients: list[Client] = []

    def make(**overrides: object) -> Client:
        options: dict[str, object] = {
            "base_url": live_server.url,
            "token": namespace.write_token,
            "progress": False,
            "cache_dir": cache_dir,
        }
        options.update(overrides)
        client = Client(**options)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def model_id(make_client: Callable[..., Client], namespace: NamespaceAccess) -> str:  # noqa: F811
    """A fresh model in the test namespace."""
    model = f"{namespace.name}/net-{uuid.uuid4().hex[:6]}"
    make_client().models.create(model, arch="mlp", arch_config={"width": 16}, tags=["test"])
    return model
