"""Bad uploads get a clear 4xx and change nothing stored: no artifact, no new blob."""

from __future__ import annotations

import json
import pickle
import socket
import struct
from datetime import timedelta
from urllib.parse import urlparse

import numpy as np
import pytest
from safetensors.numpy import save

from patchhub.signature import quantize_signature
from registry.storage.gc import collect_garbage
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, sha256, stored_blob_keys, upload, wait_until
from tests.registry.blobs.support import staged_items


def _safetensors(header: dict[str, object], data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _entry(dtype: str, shape: list[int], start: int, end: int) -> dict[str, object]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [start, end]}


VALID = tiny_model_bytes(seed=42)
BAD_FILES = {
    "truncated": VALID[: len(VALID) - 5],
    "not safetensors": b"PK\x03\x04 this is a zip file, not safetensors" * 4,
    "header claims 10 GB": struct.pack("<Q", 10 * 1024**3) + b"{}",
    "overlapping tensors": _safetensors({"a": _entry("F32", [2], 0, 8), "b": _entry("F32", [2], 4, 12)}, b"\0" * 12),
    "offset past the end": _safetensors({"a": _entry("F32", [4], 0, 16)}, b"\0" * 8),
    "unknown dtype": _safetensors({"a": _entry("Q7", [2], 0, 2)}, b"\0" * 2),
    "size does not match shape": _safetensors({"a": _entry("F32", [3], 0, 8)}, b"\0" * 8),
    "trailing bytes": VALID + b"extra",
    "pickle file": pickle.dumps({"weight": [1.0, 2.0]}, protocol=4),
    "empty": b"",
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_are_rejected_and_nothing_is_stored(
    live_server: LiveServer, namespace: NamespaceAccess, case: str
) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        blobs_before = stored_blob_keys(live_server)
        response = upload(client, namespace.name, BAD_FILES[case])
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["error"] == "invalid"
        assert "safetensors" in body["detail"]
        assert client.get(f"/v1/models/{namespace.name}/net/artifacts").json()["items"] == []
        assert stored_blob_keys(live_server) == blobs_before


def test_sha256_mismatch_fails_and_nothing_is_visible(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        blobs_before = stored_blob_keys(live_server)
        response = upload(client, namespace.name, VALID, sha256="0" * 64)
        assert response.status_code == 422
        assert "sha256" in response.json()["detail"]
        assert client.get(f"/v1/models/{namespace.name}/net/artifacts").json()["items"] == []
        assert stored_blob_keys(live_server) == blobs_before
        assert upload(client, namespace.name, VALID, sha256="not-hex").status_code == 422


def test_existing_artifacts_survive_a_failed_upload(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        good = upload(client, namespace.name, VALID).json()
        assert upload(client, namespace.name, VALID[:-1]).status_code == 422
        assert upload(client, namespace.name, VALID, sha256="f" * 64).status_code == 422
        assert client.get(f"/v1/artifacts/{good['id']}/file").content == VALID
        assert client.get(f"/v1/models/{namespace.name}/net").json()["latest_version"] == 1


def test_unknown_kind_and_bad_metadata_are_422(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        assert upload(client, namespace.name, VALID, kind="weights").status_code == 422
        response = client.put(
            f"/v1/models/{namespace.name}/net/artifacts",
            params={"kind": "base"},
            content=VALID,
            headers={"X-Patchhub-Metadata": "[1, 2]"},
        )
        assert response.status_code == 422
        assert upload(client, namespace.name, VALID, name="missing").status_code == 404


def test_dropped_connection_leaves_no_artifact_and_gc_removes_leftovers(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    store = live_server.runtime.store
    data = tiny_model_bytes(seed=11, layers=12, width=512)  # 12 MB: S3 stages a part before the drop
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
    blobs_before = stored_blob_keys(live_server)
    staged_before = staged_items(store)
    address = urlparse(live_server.url)
    with socket.create_connection((address.hostname, address.port)) as sock:
        request = (
            f"PUT /v1/models/{namespace.name}/net/artifacts?kind=base HTTP/1.1\r\n"
            f"Host: {address.netloc}\r\nAuthorization: Bearer {namespace.write_token}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        sock.sendall(request + data[: 3 * len(data) // 4])
        wait_until(lambda: staged_items(store) > staged_before, "the upload to be staging bytes")
    # The server notices the drop and aborts the upload: its staged bytes go at once, not at the next gc.
    wait_until(lambda: staged_items(store) == staged_before, "the dropped upload's staged bytes to go")
    with live_server.client(namespace.write_token) as client:
        assert client.get(f"/v1/models/{namespace.name}/net/artifacts").json()["items"] == []
    assert stored_blob_keys(live_server) == blobs_before

    abandoned = store.open_writer()  # what a crashed server process leaves in staging
    abandoned.write(data)
    assert staged_items(store) > staged_before
    report = collect_garbage(live_server.runtime.session_factory, store, timedelta(0))
    assert report.staging_cleaned >= 1
    assert report.blobs_deleted == 0  # nothing was committed, so nothing is orphaned beyond staging
    assert staged_items(store) == staged_before


def test_gc_removes_orphaned_blobs_but_keeps_referenced_and_young_ones(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    store = live_server.runtime.store
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        kept = upload(client, namespace.name, tiny_model_bytes(seed=12)).json()
    orphan = tiny_model_bytes(seed=13)
    from registry.storage.keys import blob_key

    with store.open_writer() as writer:  # what a crash between storing bytes and the row would leave
        writer.write(orphan)
        writer.commit(blob_key(sha256(orphan)))
    young = collect_garbage(live_server.runtime.session_factory, store, timedelta(hours=1))
    assert young.blobs_deleted == 0 and store.exists(blob_key(sha256(orphan)))
    report = collect_garbage(live_server.runtime.session_factory, store, timedelta(0))
    assert report.blobs_deleted >= 1
    assert not store.exists(blob_key(sha256(orphan)))
    assert store.exists(blob_key(kept["sha256"]))


def test_each_kind_holds_what_it_says(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    signature = quantize_signature({"layers.0.weight": np.full((16, 16), 0.01, dtype=np.float32)}, bits=8)
    images = np.zeros((3, 1, 8, 8), dtype=np.uint8)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        refused = {
            "a plain state dict as rws": upload(client, namespace.name, tiny_model_bytes(seed=341), kind="rws"),
            "a signature as base": upload(client, namespace.name, signature.to_bytes(), kind="base"),
            "labels that do not match images": upload(
                client, namespace.name, save({"images": images, "labels": np.arange(2)}), kind="dataset"
            ),
            "float images": upload(
                client,
                namespace.name,
                save({"images": images.astype(np.float32), "labels": np.arange(3)}),
                kind="dataset",
            ),
        }
        for case, answer in refused.items():
            assert answer.status_code == 422, (case, answer.text)
        assert "signature" in refused["a plain state dict as rws"].json()["detail"]
        assert client.get(f"/v1/models/{namespace.name}/net").json()["latest_version"] is None
        assert upload(client, namespace.name, signature.to_bytes(), kind="rws").status_code == 201
        dataset = save({"images": images, "labels": np.arange(3, dtype=np.int64)})
        assert upload(client, namespace.name, dataset, kind="dataset").status_code == 201
