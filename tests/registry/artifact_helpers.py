from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.fixtures.services import LiveServer


def create_model(client: httpx.Client, namespace: str, name: str = "net", arch: str = "mlp") -> None:
    client.post("/v1/models", json={"namespace": namespace, "name": name, "arch": arch}).raise_for_status()


def upload(
    client: httpx.Client, namespace: str, data: bytes, *, name: str = "net", kind: str = "base", **params: Any
) -> httpx.Response:
    return client.put(
        f"/v1/models/{namespace}/{name}/artifacts",
        params={"kind": kind, **params},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_blob_keys(server: LiveServer) -> set[str]:
    return {info.key for info in server.runtime.store.list("sha256/")}


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.05)
