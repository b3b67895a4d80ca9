from __future__ import annotations

import time
from typing import Any

import httpx

TERMINAL = {"succeeded", "failed", "cancelled"}


def submit(client: httpx.Client, namespace: str, kind: str, params: dict[str, Any], key: str | None = None) -> dict:
    headers = {"Idempotency-Key": key} if key else {}
    response = client.post("/v1/jobs", json={"kind": kind, "namespace": namespace, "params": params}, headers=headers)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def wait_for(client: httpx.Client, job_id: str, condition: Any, timeout: float = 300) -> dict:
    # Deadlines only bound a failure: generous, so a busy machine slows these tests without failing them.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if condition(job):
            return dict(job)
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not reach the condition in {timeout}s: {job}")


def wait_done(client: httpx.Client, job_id: str, timeout: float = 420) -> dict:
    return wait_for(client, job_id, lambda job: job["status"] in TERMINAL, timeout)


def train_params(namespace: str, **overrides: Any) -> dict[str, Any]:
    """A small but real training run: ResNet-20 on digits at their native 8x8."""
    return {
        "output_model": f"{namespace}/digits-resnet20",
        "arch": "resnet20",
        "dataset": "builtin:digits",
        "image_size": 8,
        "epochs": 3,
        "batch_size": 64,
        "optimizer": "sgd",
        "lr": 0.1,
        "device": "cpu",
        **overrides,
    }


def upload_untrained_checkpoint(client: httpx.Client, namespace: str, arch: str = "resnet20") -> str:
    """A freshly initialised zoo model as a checkpoint artifact (what cheap evaluate jobs run on)."""
    from workers.jobs.io import build_model, checkpoint_bytes

    name = f"{arch}-untrained"
    client.post("/v1/models", json={"namespace": namespace, "name": name, "arch": arch})
    model, config = build_model("resnet20", {})
    data = checkpoint_bytes(model, arch, config)
    response = client.put(f"/v1/models/{namespace}/{name}/artifacts", params={"kind": "checkpoint"}, content=data)
    response.raise_for_status()
    return str(response.json()["id"])
