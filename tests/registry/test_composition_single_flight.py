"""A composition is computed once however many clients ask at once, and its cache is visible as soon as the
first download has its last byte."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save

from patchhub.signature import quantize_signature
from registry.resources.compositions import cached_output
from registry.resources.compositions.single_flight import COMPUTATIONS, computation_key
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import wait_until

CLIENTS = 4


def _recipe(client: Any, namespace: str, seed: int) -> str:
    """A composition of bytes no other test uses (the session's servers share their blobs)."""
    rng = np.random.default_rng(list(hashlib.sha256(f"{namespace}/{seed}".encode()).digest()))
    base = {"w": rng.standard_normal((256, 256)).astype(np.float32), "b": np.ones(256, np.float32)}
    signature = quantize_signature({"w": 0.01 * rng.standard_normal((256, 256)).astype(np.float32)}, 8)
    ids = []
    for name, kind, data in (("flightnet", "base", save(base)), ("flightsig", "rws", signature.to_bytes())):
        client.post("/v1/models", json={"namespace": namespace, "name": name, "arch": "tiny"})
        response = client.put(f"/v1/models/{namespace}/{name}/artifacts", params={"kind": kind}, content=data)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    created = client.post("/v1/compositions", json={"base": ids[0], "patches": [{"artifact": ids[1], "scale": 0.5}]})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


class CountingCompose:
    """Wraps the service's compose: counts computations and, when ``hold`` is set, keeps the first one from
    finishing until the other clients are waiting on it (so the test does not depend on timing)."""

    def __init__(self, original: Any, hold: threading.Event | None) -> None:
        self.original = original
        self.hold = hold
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        self.calls += 1
        for index, piece in enumerate(self.original(*args, **kwargs)):
            if index == 1 and self.hold is not None:
                assert self.hold.wait(60), "the other clients never waited"
            yield piece


def _wait_for_waiters(key: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        flight = COMPUTATIONS.get(key)
        if flight is not None and flight.waiting >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"{count} downloads never waited on the computation")


def test_concurrent_first_downloads_share_one_computation(
    live_server: LiveServer, namespace: NamespaceAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    hold = threading.Event()
    counting = CountingCompose(cached_output.iter_plan_parts, hold)
    monkeypatch.setattr(cached_output, "iter_plan_parts", counting)
    with live_server.client(namespace.write_token) as client:
        composition = _recipe(client, namespace.name, 1)

    def download(_: int) -> bytes:
        with live_server.client(namespace.write_token) as own:
            response = own.get(f"/v1/compositions/{composition}/file")
            assert response.status_code == 200, response.text
            return response.content

    with ThreadPoolExecutor(CLIENTS) as pool:
        downloads = [pool.submit(download, i) for i in range(CLIENTS)]
        _wait_for_waiters(computation_key(live_server.runtime, composition), CLIENTS - 1)
        hold.set()
        bodies = [future.result(timeout=120) for future in downloads]
    assert counting.calls == 1
    assert len({hashlib.sha256(body).hexdigest() for body in bodies}) == 1
    with live_server.client(namespace.write_token) as client:
        digest = hashlib.sha256(bodies[0]).hexdigest()
        wait_until(lambda: client.get(f"/v1/compositions/{composition}").json()["sha256"] == digest, "its sha256")


def test_the_download_right_after_the_first_is_served_from_the_cache(
    live_server: LiveServer, namespace: NamespaceAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = CountingCompose(cached_output.iter_plan_parts, None)
    monkeypatch.setattr(cached_output, "iter_plan_parts", counting)
    events: list[str] = []
    received = threading.Event()
    store = live_server.runtime.store
    open_writer = store.open_writer

    def slow_committing_writer(key_hint: str | None = None) -> Any:
        """A cache commit that waits a moment for the client: were the last byte sent before the commit, the
        client would have it first."""
        writer = open_writer(key_hint)
        commit = writer.commit

        def late_commit(key: str) -> None:
            received.wait(1.0)
            commit(key)
            events.append("committed")

        monkeypatch.setattr(writer, "commit", late_commit)
        return writer

    with live_server.client(namespace.write_token) as client:
        composition = _recipe(client, namespace.name, 2)
        monkeypatch.setattr(store, "open_writer", slow_committing_writer)
        first = client.get(f"/v1/compositions/{composition}/file")
        events.append("received")
        received.set()
        assert first.status_code == 200
        assert events == ["committed", "received"]
        assert client.get(f"/v1/compositions/{composition}").json()["cached"] is True
        digest = hashlib.sha256(first.content).hexdigest()  # computed from the cache once the last byte is sent
        wait_until(lambda: client.get(f"/v1/compositions/{composition}").json()["sha256"] == digest, "its sha256")
        second = client.get(f"/v1/compositions/{composition}/file")
        assert second.content == first.content
    assert counting.calls == 1
