"""gc keeps cached composition outputs within a size budget, least recently read first, and says what it
freed; an evicted composition is computed again, to the same bytes, when it is next downloaded."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from safetensors.numpy import save
from sqlalchemy import update

from patchhub.signature import quantize_signature
from registry.blobs import BlobStore
from registry.db.base import utcnow
from registry.db.session import transaction
from registry.models import Composition
from registry.resources.compositions.cached_output import cache_key
from registry.storage.gc import collect_garbage
from registry.storage.keys import composition_output_key
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import wait_until


def _upload(client, namespace: str, model: str, data: bytes, kind: str) -> str:  # type: ignore[no-untyped-def]
    client.post("/v1/models", json={"namespace": namespace, "name": model, "arch": "tiny"})
    response = client.put(f"/v1/models/{namespace}/{model}/artifacts", params={"kind": kind}, content=data)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _cached_key(store: BlobStore, composition_id: str) -> str:
    return cache_key(store, composition_output_key(composition_id))


def test_gc_evicts_the_least_recently_read_compositions_beyond_the_budget(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    rng = np.random.default_rng(7)
    base = {"fc.weight": rng.standard_normal((64, 64)).astype(np.float32)}
    delta = {"fc.weight": (0.1 * rng.standard_normal((64, 64))).astype(np.float32)}
    signature = quantize_signature(delta, bits=8, metadata={"arch": "tiny"}).to_bytes()
    store = live_server.runtime.store
    factory = live_server.runtime.session_factory
    # The server is shared with earlier tests: start from an empty cache so the budget counts ours alone.
    collect_garbage(factory, store, timedelta(hours=1), composition_cache_bytes=0)
    with live_server.client(namespace.write_token) as client:
        base_id = _upload(client, namespace.name, "net", save(base), "base")
        sig_id = _upload(client, namespace.name, "fog", signature, "rws")
        ids, outputs = [], {}
        for scale in (0.5, 1.0, 1.5):
            recipe = {"base": base_id, "patches": [{"artifact": sig_id, "scale": scale}]}
            created = client.post("/v1/compositions", json=recipe).json()
            ids.append(created["id"])
            outputs[created["id"]] = client.get(f"/v1/compositions/{created['id']}/file").content
            output_key = _cached_key(store, created["id"])
            wait_until(lambda key=output_key: store.exists(key), "the output to be cached")  # written as it streams
        first, second, third = ids
        size = store.size(_cached_key(store, first))  # what the cache holds of each
        # An hour passes for the first output, then it is read again: now it is the most recent.
        with transaction(live_server.runtime.session_factory) as session:
            hour_ago = utcnow() - timedelta(hours=1)
            session.execute(update(Composition).where(Composition.id == first).values(last_read_at=hour_ago))
        assert client.get(f"/v1/compositions/{first}/file").content == outputs[first]

        preview = collect_garbage(factory, store, timedelta(hours=1), dry_run=True, composition_cache_bytes=2 * size)
        assert preview.cached_compositions_deleted == 1 and store.exists(_cached_key(store, second))
        report = collect_garbage(factory, store, timedelta(hours=1), composition_cache_bytes=2 * size)
        assert (report.cached_compositions_deleted, report.cached_composition_bytes_freed) == (1, size)
        assert report.blobs_deleted == 0
        cached = {cid: client.get(f"/v1/compositions/{cid}").json()["cached"] for cid in ids}
        assert cached == {first: True, second: False, third: True}
        assert client.get(f"/v1/compositions/{second}/file").content == outputs[second]
        wait_until(lambda: store.exists(_cached_key(store, second)), "the recomputed output to be cached")
        within = collect_garbage(factory, store, timedelta(hours=1), composition_cache_bytes=10 * size)
        assert within.cached_compositions_deleted == 0
