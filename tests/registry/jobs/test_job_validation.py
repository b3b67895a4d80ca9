"""A job is checked whole at submission: zoo architectures and their config fields, dataset references and
artifact kinds. A refused
submission creates nothing (no job, no output model)."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import save

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, upload


def dataset_bytes() -> bytes:
    images = np.zeros((4, 1, 8, 8), dtype=np.uint8)
    return save({"images": images, "labels": np.arange(4, dtype=np.int64)})


@pytest.fixture
def inputs(live_server: LiveServer, namespace: NamespaceAccess) -> dict[str, str]:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name, "weights")
        create_model(client, namespace.name, "digits")
        weights = upload(client, namespace.name, tiny_model_bytes(seed=321), name="weights").json()["id"]
        data = upload(client, namespace.name, dataset_bytes(), name="digits", kind="dataset").json()["id"]
    return {"weights": weights, "dataset": data}


def refused_cases(ns: str, inputs: dict[str, str]) -> list[tuple[str, dict[str, object], str]]:
    out = f"{ns}/made-by-job"
    return [
        ("train", {"output_model": out, "arch": "resnet21"}, "params.arch"),
        ("train", {"output_model": out, "arch": "resnet20", "dataset": inputs["weights"]}, "params.dataset"),
        ("train", {"output_model": out, "arch": "resnet20", "init": inputs["dataset"]}, "params.init"),
        ("evaluate", {"artifact": inputs["dataset"]}, "params.artifact"),
        ("evaluate", {"artifact": inputs["weights"], "dataset": "builtin:mnist-but-not"}, "params.dataset"),
        ("train_uva", {"output_model": out, "dataset": inputs["weights"]}, "params.dataset"),
        ("train", {"output_model": out, "arch": "resnet20", "seed": 2**70}, "params.seed"),
        ("evaluate", {"artifact": inputs["weights"], "split_seed": -1}, "params.split_seed"),
        ("train", {"output_model": out, "arch": "resnet20", "arch_config": {"no_such_field": 1}}, "'no_such_field'"),
        ("train_emov2", {"output_model": out, "arch_config": {"windw_size": 2}}, "'windw_size'"),
    ]


def test_refused_submissions_create_nothing(
    live_server: LiveServer, namespace: NamespaceAccess, inputs: dict[str, str]
) -> None:
    with live_server.client(namespace.write_token) as client:
        for kind, params, field in refused_cases(namespace.name, inputs):
            answer = client.post("/v1/jobs", json={"kind": kind, "namespace": namespace.name, "params": params})
            assert answer.status_code == 422, (kind, params, answer.text)
            assert field in answer.json()["detail"], answer.text
        assert client.get("/v1/jobs", params={"namespace": namespace.name}).json()["items"] == []
        models = client.get("/v1/models", params={"namespace": namespace.name}).json()["items"]
        assert sorted(m["name"] for m in models) == ["digits", "weights"]
        accepted = client.post(
            "/v1/jobs",
            json={
                "kind": "train",
                "namespace": namespace.name,
                "params": {"output_model": f"{namespace.name}/made-by-job", "arch": "resnet20",
                           "dataset": inputs["dataset"], "init": inputs["weights"]},
            },
        )  # fmt: skip
        assert accepted.status_code == 201, accepted.text
