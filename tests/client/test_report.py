"""`patchhub report` shows the tables jobs record on artifacts (robustness, LAPP widths, RWS deltas)."""

from __future__ import annotations

import json

import pytest

from patchhub.cli import main
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess

ROBUSTNESS = {
    "clean_top1": 0.95,
    "mean_top1": 0.6,
    "severities": [1, 5],
    "top1": {"fog": {"1": 0.9, "5": 0.4}, "gaussian_noise": {"1": 0.8, "5": 0.3}},
}
WIDTHS = {
    "per_layer_kept": {"layer1.0": {"kept": 4, "of": 16}, "layer3.2": {"kept": 64, "of": 64}},
    "flops_ratio": 0.41,
    "target_flops_ratio": 0.403,
    "params": 100,
    "dense_params": 270,
    "accuracy": 0.9,
}


@pytest.fixture
def reported(live_server: LiveServer, namespace: NamespaceAccess) -> str:
    with live_server.client(namespace.write_token) as client:
        client.post("/v1/models", json={"namespace": namespace.name, "name": "net", "arch": "resnet20"})
        artifact = client.put(
            f"/v1/models/{namespace.name}/net/artifacts", params={"kind": "pruned"}, content=tiny_model_bytes()
        ).json()
        client.patch(
            f"/v1/artifacts/{artifact['id']}/metadata", json={"metadata": {"robustness": ROBUSTNESS, **WIDTHS}}
        ).raise_for_status()
    return f"{namespace.name}/net@latest"


def test_report_renders_robustness_and_widths(
    live_server: LiveServer, namespace: NamespaceAccess, reported: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--url", live_server.url, "--token", namespace.read_token, "-q", "report", reported])
    out = capsys.readouterr().out
    assert code == 0
    fog = next(line for line in out.splitlines() if line.startswith("fog"))
    assert fog.split() == ["fog", "0.900", "0.400"]
    layer = next(line for line in out.splitlines() if line.startswith("layer1.0"))
    assert "4/16" in layer and "25%" in layer and "######" in layer
    assert "FLOPs 0.410 of dense (target 0.403)" in out


def test_report_of_a_trained_checkpoint_shows_its_validation_metrics(
    live_server: LiveServer, namespace: NamespaceAccess, capsys: pytest.CaptureFixture[str]
) -> None:
    metadata = {"arch": "resnet20", "dataset": "builtin:digits", "metrics": {"val_top1": 0.9312, "train_loss": 0.2}}
    with live_server.client(namespace.write_token) as client:
        client.post("/v1/models", json={"namespace": namespace.name, "name": "trained", "arch": "resnet20"})
        client.put(
            f"/v1/models/{namespace.name}/trained/artifacts",
            params={"kind": "checkpoint"},
            headers={"X-Patchhub-Metadata": json.dumps(metadata)},
            content=tiny_model_bytes(seed=3),
        ).raise_for_status()
    code = main(["report", f"{namespace.name}/trained", "--url", live_server.url, "--token", namespace.read_token])
    out = capsys.readouterr().out
    assert code == 0 and "no evaluations" not in out
    rows = [line.split() for line in out.splitlines()]
    assert ["val_top1", "0.9312"] in rows and ["train_loss", "0.2000"] in rows
    assert rows.index(["val_top1", "0.9312"]) < rows.index(["train_loss", "0.2000"])  # validation first
    assert "trained on builtin:digits" in out
