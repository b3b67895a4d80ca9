"""A small sharded model folder (two safetensors shards, their index, a config, a card) and pushing it over
the folder-upload API."""

from __future__ import annotations

import hashlib
import json

import httpx
import numpy as np
from safetensors.numpy import save

SHARD_1 = "model-00001-of-00002.safetensors"
SHARD_2 = "model-00002-of-00002.safetensors"
INDEX = "model.safetensors.index.json"
SHARDED_SHAPES = {
    SHARD_1: {"embed.weight": (12, 8), "layer0.weight": (8, 8)},
    SHARD_2: {"layer1.weight": (8, 8), "head.weight": (4, 8), "head.bias": (4,)},
}


def sharded_folder(seed: int = 0) -> tuple[dict[str, bytes], dict[str, np.ndarray]]:
    """The folder's files by path, and every tensor by name."""
    rng = np.random.default_rng(seed)
    tensors: dict[str, np.ndarray] = {}
    folder: dict[str, bytes] = {}
    weight_map = {}
    for shard, shapes in SHARDED_SHAPES.items():
        shard_tensors = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}
        tensors.update(shard_tensors)
        folder[shard] = save(shard_tensors, metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(shapes, shard))
    folder[INDEX] = json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}).encode()
    folder["config.json"] = json.dumps({"model_type": "tiny", "hidden_size": 8}).encode()
    folder["README.md"] = b"---\nlicense: mit\n---\n# tiny\n"
    return folder, tensors


def push_folder(client: httpx.Client, namespace: str, name: str, folder: dict[str, bytes], kind: str = "base") -> dict:
    upload = client.post(f"/v1/models/{namespace}/{name}/folder-uploads", json={"kind": kind})
    assert upload.status_code == 201, upload.text
    upload_id = upload.json()["id"]
    for path, data in folder.items():
        stored = client.put(f"/v1/folder-uploads/{upload_id}/files/{path}", content=data)
        assert stored.status_code == 200, stored.text
    files = [{"path": path, "sha256": hashlib.sha256(data).hexdigest()} for path, data in folder.items()]
    done = client.post(f"/v1/folder-uploads/{upload_id}/complete", json={"files": files})
    assert done.status_code == 201, done.text
    return dict(done.json())
