"""What the UI tests browse: models with versions, a signature, metadata reports, uploaded through the API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from safetensors.numpy import save

from patchhub.signature import quantize_signature

SHAPES = {"conv1.weight": (8, 3, 3, 3), "conv1.bias": (8,), "fc.weight": (10, 32), "fc.bias": (10,)}
CHECKPOINT_REPORTS: dict[str, Any] = {
    "history": [
        {"epoch": e, "train_loss": 2.3 / e, "train_top1": 1 - 0.6 / e, "val_top1": 1 - 0.7 / e} for e in range(1, 9)
    ],
    "robustness": {
        "severities": [1, 2, 3],
        "top1": {"fog": {"1": 0.91, "2": 0.8, "3": 0.62}, "gaussian_noise": {"1": 0.7, "2": 0.45, "3": 0.2}},
        "clean_top1": 0.95,
        "mean_top1": 0.61,
    },
    "evaluations": [{"job": "a" * 32, "dataset": "builtin:digits", "split": "test", "top1": 0.95, "n": 360}],
}


@dataclass
class Seeded:
    model: str  # ns/name of the searched model
    base_id: str
    checkpoint_id: str
    signature_id: str
    base_bytes: bytes


def weights(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return save({name: rng.standard_normal(shape).astype(np.float32) for name, shape in SHAPES.items()})


def signature(seed: int) -> bytes:
    rng = np.random.default_rng(100 + seed)
    deltas = {"conv1.weight": (0.1 * rng.standard_normal(SHAPES["conv1.weight"])).astype(np.float32)}
    return quantize_signature(deltas, bits=8, metadata={"arch": "tiny"}).to_bytes()


def _model(client: httpx.Client, namespace: str, name: str, **fields: Any) -> None:
    body = {"namespace": namespace, "name": name, "arch": "tiny", **fields}
    client.post("/v1/models", json=body).raise_for_status()


def _upload(
    client: httpx.Client,
    namespace: str,
    name: str,
    data: bytes,
    kind: str,
    meta: dict[str, Any] | None = None,
    **q: Any,
) -> str:
    headers = {"X-Patchhub-Metadata": json.dumps(meta)} if meta else {}
    response = client.put(
        f"/v1/models/{namespace}/{name}/artifacts", params={"kind": kind, **q}, content=data, headers=headers
    )
    response.raise_for_status()
    return str(response.json()["id"])


def seed(client: httpx.Client, namespace: str) -> Seeded:
    _model(client, namespace, "tiny-fog-demo", description="robust demo network", tags=["vision", "demo"])
    _model(client, namespace, "unrelated", description="something else")
    base_bytes = weights(0)
    base = _upload(client, namespace, "tiny-fog-demo", base_bytes, "base")
    checkpoint = _upload(client, namespace, "tiny-fog-demo", weights(1), "checkpoint", CHECKPOINT_REPORTS, parent=base)
    _upload(client, namespace, "unrelated", weights(2), "base")
    _model(client, namespace, "fog-signature")
    layer_deltas = [{"name": "conv1.weight", "robust_vs_clean": 0.12, "signature": 0.1}]
    sig_meta = {"layer_deltas": layer_deltas, "layers": ["conv1.weight"], "bits": 8, "scheme": "uniform"}
    sig = _upload(client, namespace, "fog-signature", signature(1), "rws", sig_meta, parent=base)
    return Seeded(f"{namespace}/tiny-fog-demo", base, checkpoint, sig, base_bytes)
