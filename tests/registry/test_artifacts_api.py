"""Upload, versions, aliases, lineage, download with Range and ETag, the tensor index."""

from __future__ import annotations

import json

from safetensors.numpy import load

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, sha256, stored_blob_keys, upload


def test_upload_versions_latest_alias_and_metadata(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    data = tiny_model_bytes(seed=1)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        meta = {"accuracy": 0.91, "note": "first"}
        first = client.put(
            f"/v1/models/{namespace.name}/net/artifacts",
            params={"kind": "base", "sha256": sha256(data)},
            content=data,
            headers={"X-Patchhub-Metadata": json.dumps(meta)},
        )
        assert first.status_code == 201, first.text
        artifact = first.json()
        assert artifact["version"] == 1
        assert artifact["sha256"] == sha256(data)
        assert artifact["size"] == len(data)
        assert artifact["metadata"] == meta
        assert artifact["file_metadata"] == {"framework": "test", "seed": "1"}
        assert artifact["parameter_count"] == 3 * (16 * 16 + 16)
        assert artifact["aliases"] == ["latest"]
        second = upload(client, namespace.name, tiny_model_bytes(seed=2)).json()
        assert second["version"] == 2
        model = client.get(f"/v1/models/{namespace.name}/net").json()
        assert model["latest_version"] == 2
        assert model["aliases"] == {"latest": 2}
        assert client.get(f"/v1/models/{namespace.name}/net/artifacts/latest").json()["id"] == second["id"]
        assert client.get(f"/v1/models/{namespace.name}/net/artifacts/v1").json()["id"] == artifact["id"]
        listed = client.get(f"/v1/models/{namespace.name}/net/artifacts").json()["items"]
        assert [a["version"] for a in listed] == [1, 2]


def test_identical_bytes_are_stored_once(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    data = tiny_model_bytes(seed=3)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name, "a")
        create_model(client, namespace.name, "b")
        before = stored_blob_keys(live_server)
        one = upload(client, namespace.name, data, name="a").json()
        two = upload(client, namespace.name, data, name="b", sha256=sha256(data)).json()
        assert one["id"] != two["id"] and one["sha256"] == two["sha256"]
        assert len(stored_blob_keys(live_server) - before) == 1


def test_aliases_move_and_latest_is_reserved(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        v1 = upload(client, namespace.name, tiny_model_bytes(seed=4)).json()
        v2 = upload(client, namespace.name, tiny_model_bytes(seed=5)).json()
        aliases = f"/v1/models/{namespace.name}/net/aliases"
        assert client.put(f"{aliases}/prod", json={"version": 1}).json()["artifact_id"] == v1["id"]
        assert client.get(f"/v1/models/{namespace.name}/net/artifacts/prod").json()["id"] == v1["id"]
        assert client.put(f"{aliases}/prod", json={"artifact": v2["id"]}).json()["version"] == 2
        assert client.get(f"/v1/artifacts/{v2['id']}").json()["aliases"] == ["latest", "prod"]
        assert client.put(f"{aliases}/latest", json={"version": 1}).status_code == 422
        assert client.put(f"{aliases}/x", json={"version": 1, "artifact": v1["id"]}).status_code == 422
        assert client.put(f"{aliases}/x", json={"version": 9}).status_code == 404
        assert client.delete(f"{aliases}/prod").status_code == 204
        assert [a["alias"] for a in client.get(aliases).json()] == ["latest"]


def test_lineage_parents_are_recorded(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        base = upload(client, namespace.name, tiny_model_bytes(seed=6)).json()
        child = upload(client, namespace.name, tiny_model_bytes(seed=7), kind="checkpoint", parent=[base["id"]])
        assert child.status_code == 201
        parents = child.json()["parents"]
        assert [(p["id"], p["version"], p["kind"]) for p in parents] == [(base["id"], 1, "base")]
        assert child.json()["job_id"] is None
        missing = upload(client, namespace.name, tiny_model_bytes(seed=8), parent=["0" * 32])
        assert missing.status_code == 422
        assert "does not exist" in missing.json()["detail"]


def test_download_range_etag_and_tensor_index(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    data = tiny_model_bytes(seed=9)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        artifact = upload(client, namespace.name, data).json()
        url = f"/v1/artifacts/{artifact['id']}/file"
        full = client.get(url)
        assert full.status_code == 200
        assert full.content == data
        assert full.headers["etag"] == f'"{sha256(data)}"'
        assert load(full.content)["layers.0.bias"].shape == (16,)
        part = client.get(url, headers={"Range": "bytes=10-19"})
        assert part.status_code == 206
        assert part.content == data[10:20]
        assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
        assert client.get(url, headers={"Range": "bytes=-7"}).content == data[-7:]
        assert client.get(url, headers={"Range": f"bytes={len(data) - 3}-"}).content == data[-3:]
        assert client.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
        assert client.get(url, headers={"If-None-Match": f'"{sha256(data)}"'}).status_code == 304
        index = client.get(f"/v1/artifacts/{artifact['id']}/tensors").json()
        names = [t["name"] for t in index["tensors"]]
        assert sorted(names) == sorted(f"layers.{i}.{p}" for i in range(3) for p in ("weight", "bias"))
        weight = next(t for t in index["tensors"] if t["name"] == "layers.2.weight")
        assert weight == {
            "name": "layers.2.weight",
            "dtype": "F32",
            "shape": [16, 16],
            "numel": 256,
            "file": "model.safetensors",
        }


def test_metadata_patch_merges_without_touching_bytes(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        artifact = upload(client, namespace.name, tiny_model_bytes(seed=10)).json()
        patched = client.patch(
            f"/v1/artifacts/{artifact['id']}/metadata", json={"metadata": {"top1": 0.5, "note": None}}
        ).json()
        assert patched["metadata"] == {"top1": 0.5}
        assert patched["sha256"] == artifact["sha256"]
