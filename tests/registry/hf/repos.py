"""Models pushed through the patchhub API for the Hugging Face protocol tests."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import numpy as np
from safetensors.numpy import save

from patchhub.signature import quantize_signature

SHAPES = {"encoder.weight": (64, 512), "encoder.bias": (64,), "head.weight": (10, 64), "head.bias": (10,)}


def base_tensors(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in SHAPES.items()}


def signature(names: list[str], seed: int) -> tuple[bytes, dict[str, np.ndarray]]:
    """A 32-bit signature on ``names`` and the deltas it decodes to."""
    rng = np.random.default_rng(100 + seed)
    deltas = {name: (0.1 * rng.standard_normal(SHAPES[name])).astype(np.float32) for name in names}
    sig = quantize_signature(deltas, bits=32, metadata={"arch": "mlp", "corruption": f"c{seed}"})
    return sig.to_bytes(), {name: sig.delta(name) for name in names}


def push(client: httpx.Client, namespace: str, model: str, data: bytes, kind: str = "base") -> dict[str, Any]:
    """``data`` as the next version of ``namespace/model`` (created when missing)."""
    client.post("/v1/models", json={"namespace": namespace, "name": model, "arch": "mlp"})
    response = client.put(f"/v1/models/{namespace}/{model}/artifacts", params={"kind": kind}, content=data)
    assert response.status_code == 201, response.text
    return dict(response.json())


def weights(seed: int) -> bytes:
    return save(base_tensors(seed), metadata={"format": "pt"})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
