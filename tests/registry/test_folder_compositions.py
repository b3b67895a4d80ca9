"""Compositions of a sharded base: a signature's tensors are found across shards, the output is the base's
folder with the touched shards composed (exactly base + scale * delta) and every other file unchanged."""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from safetensors.numpy import load

from patchhub.signature import quantize_signature
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.folder_helpers import INDEX, SHARD_1, SHARD_2, SHARDED_SHAPES, push_folder, sharded_folder

SHAPES = {name: shape for shapes in SHARDED_SHAPES.values() for name, shape in shapes.items()}


def _signature(names: list[str], seed: int) -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(200 + seed)
    deltas = {name: (0.1 * rng.standard_normal(SHAPES[name])).astype(np.float32) for name in names}
    signature = quantize_signature(deltas, bits=8, scheme="per_channel", metadata={"arch": "tiny"})
    return signature.to_bytes(), {name: signature.delta(name) for name in names}


def _setup(client, namespace: str) -> tuple[dict[str, bytes], dict[str, np.ndarray], str, dict[str, np.ndarray]]:  # type: ignore[no-untyped-def]
    folder, tensors = sharded_folder(seed=7)
    client.post("/v1/models", json={"namespace": namespace, "name": "net", "arch": "tiny"}).raise_for_status()
    client.post("/v1/models", json={"namespace": namespace, "name": "fog", "arch": "tiny"}).raise_for_status()
    push_folder(client, namespace, "net", folder)
    # Spans both shards: layer0.weight is in the first, layer1.weight and head.bias in the second.
    signature_bytes, deltas = _signature(["layer0.weight", "layer1.weight", "head.bias"], 1)
    signature = client.put(f"/v1/models/{namespace}/fog/artifacts", params={"kind": "rws"}, content=signature_bytes)
    assert signature.status_code == 201, signature.text
    return folder, tensors, signature.json()["id"], deltas


def test_a_signature_spanning_two_shards_composes_exactly(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        folder, tensors, fog_id, deltas = _setup(client, namespace.name)
        scale = -0.75
        created = client.post(
            "/v1/compositions",
            json={"base": f"{namespace.name}/net@latest", "patches": [{"artifact": fog_id, "scale": scale}]},
        )
        assert created.status_code == 201, created.text
        composition = created.json()
        assert composition["size"] == sum(len(data) for data in folder.values())
        listed = {f["path"]: f for f in client.get(f"/v1/compositions/{composition['id']}/files").json()}
        assert sorted(listed) == sorted(folder)
        assert listed[SHARD_1]["composed"] and listed[SHARD_2]["composed"]
        assert not listed["config.json"]["composed"]
        assert listed["config.json"]["sha256"] == hashlib.sha256(folder["config.json"]).hexdigest()

        composed: dict[str, np.ndarray] = {}
        for shard in (SHARD_1, SHARD_2):
            response = client.get(f"/v1/compositions/{composition['id']}/files/{shard}")
            assert response.status_code == 200, response.text
            assert len(response.content) == len(folder[shard])
            assert response.content[:64] == folder[shard][:64]  # the base shard's header, byte for byte
            composed.update(load(response.content))
        assert set(composed) == set(tensors)
        for name, base_value in tensors.items():
            expected = torch.from_numpy(base_value)
            if name in deltas:
                expected = expected + torch.tensor(scale, dtype=torch.float32) * torch.from_numpy(deltas[name])
            assert torch.equal(torch.from_numpy(composed[name]), expected), name
        for path in ("config.json", "README.md", INDEX):
            same = client.get(f"/v1/compositions/{composition['id']}/files/{path}")
            assert same.status_code == 200 and same.content == folder[path]


def test_composed_shards_are_cached_ranged_and_untouched_shards_are_the_base(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    with live_server.client(namespace.write_token) as client:
        folder, _tensors, _fog_id, _deltas = _setup(client, namespace.name)
        # Only the second shard is touched by this one.
        signature_bytes, _ = _signature(["head.weight"], 2)
        client.post("/v1/models", json={"namespace": namespace.name, "name": "snow", "arch": "tiny"})
        snow = client.put(
            f"/v1/models/{namespace.name}/snow/artifacts", params={"kind": "rws"}, content=signature_bytes
        )
        recipe = {"base": f"{namespace.name}/net@latest", "patches": [{"artifact": snow.json()["id"], "scale": 0.5}]}
        composition = client.post("/v1/compositions", json=recipe).json()
        url = f"/v1/compositions/{composition['id']}/files"
        untouched = client.get(f"{url}/{SHARD_1}")
        assert untouched.content == folder[SHARD_1]
        assert untouched.headers["etag"] == f'"{hashlib.sha256(folder[SHARD_1]).hexdigest()}"'
        part = client.get(f"{url}/{SHARD_2}", headers={"Range": "bytes=10-99"})  # before any full download
        assert part.status_code == 206
        whole = client.get(f"{url}/{SHARD_2}")
        assert whole.status_code == 200 and part.content == whole.content[10:100]
        assert whole.content != folder[SHARD_2]
        assert client.get(f"{url}/{SHARD_2}", headers={"If-None-Match": whole.headers["etag"]}).status_code == 304
        assert client.get(f"{url}/{SHARD_2}").content == whole.content
        cached = [info.key for info in live_server.runtime.store.list(f"compositions/{composition['id']}/")]
        assert len(cached) == 1  # the touched shard, computed once
        assert client.get(f"{url}/nope.safetensors").status_code == 404
        single = client.get(f"/v1/compositions/{composition['id']}/file")
        assert single.status_code == 409 and "/files/" in single.json()["detail"]


def test_one_file_compositions_list_their_one_file(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    from safetensors.numpy import save

    base = {name: np.ones(shape, dtype=np.float32) for name, shape in SHAPES.items()}
    with live_server.client(namespace.write_token) as client:
        client.post("/v1/models", json={"namespace": namespace.name, "name": "net", "arch": "tiny"})
        client.post("/v1/models", json={"namespace": namespace.name, "name": "fog", "arch": "tiny"})
        client.put(f"/v1/models/{namespace.name}/net/artifacts", params={"kind": "base"}, content=save(base))
        signature_bytes, _ = _signature(["layer0.weight"], 3)
        fog = client.put(f"/v1/models/{namespace.name}/fog/artifacts", params={"kind": "rws"}, content=signature_bytes)
        recipe = {"base": f"{namespace.name}/net@latest", "patches": [{"artifact": fog.json()["id"], "scale": 1.0}]}
        composition = client.post("/v1/compositions", json=recipe).json()
        listed = client.get(f"/v1/compositions/{composition['id']}/files").json()
        assert [(f["path"], f["composed"]) for f in listed] == [("model.safetensors", True)]
        by_path = client.get(f"/v1/compositions/{composition['id']}/files/model.safetensors")
        assert by_path.content == client.get(f"/v1/compositions/{composition['id']}/file").content
        assert by_path.headers["etag"] == f'"{composition["id"]}"'
