"""transformers, unchanged, loads a sharded model folder from the service by HF_ENDPOINT alone: the pushed version
gives the original's outputs, and a composition revision gives base + scale * delta and the hand-patched
model's outputs. The loading runs in a fresh interpreter with only the environment a user would set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from transformers import BertConfig, BertModel

import patchhub
from patchhub.signature import quantize_signature
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.hf.repos import push
from tests.registry.hf.sandbox import sealed_environment

LOAD = """
import json, sys
import torch
from safetensors.torch import save_file
from transformers import AutoModel
repo, out = sys.argv[1], sys.argv[2]
input_ids = torch.tensor(json.loads(sys.argv[3]))
for index, revision in enumerate(sys.argv[4:]):
    model = AutoModel.from_pretrained(repo, revision=revision).eval()
    with torch.no_grad():
        hidden = model(input_ids=input_ids).last_hidden_state
    state = {name: value.contiguous() for name, value in model.state_dict().items()}
    save_file({**state, "__output__": hidden.contiguous()}, f"{out}/{index}.safetensors")
"""
INPUT_IDS = [[2, 17, 45, 9, 88, 3], [2, 5, 61, 70, 1, 3]]
SCALE = 0.75


def _tiny_bert(folder: Path) -> BertModel:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
    )
    model = BertModel(config).eval()
    model.save_pretrained(folder, max_shard_size="40KB")  # three shards and an index
    return model


def _outputs(model: BertModel) -> np.ndarray:
    with torch.no_grad():
        return model(input_ids=torch.tensor(INPUT_IDS)).last_hidden_state.numpy()


def _load_in_a_fresh_interpreter(
    server: LiveServer, token: str, repo: str, revisions: list[str], home: Path, out: Path
) -> list[dict[str, np.ndarray]]:
    out.mkdir()
    environment = sealed_environment(HF_ENDPOINT=server.url, HF_TOKEN=token, HF_HOME=str(home), HF_HUB_OFFLINE="0")
    result = subprocess.run(
        [sys.executable, "-c", LOAD, repo, str(out), json.dumps(INPUT_IDS), *revisions],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [load_file(out / f"{index}.safetensors") for index in range(len(revisions))]


@pytest.mark.slow
def test_from_pretrained_loads_a_sharded_version_and_a_composition(
    live_server: LiveServer, namespace: NamespaceAccess, tmp_path: Path
) -> None:
    folder = tmp_path / "bert"
    original = _tiny_bert(folder)
    weight_map = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]
    shards = sorted(set(weight_map.values()))
    assert len(shards) == 3
    # One tensor in the first shard, one in the last: the signature spans shards.
    first = next(name for name, shard in weight_map.items() if shard == shards[0] and name.endswith("weight"))
    last = next(name for name, shard in weight_map.items() if shard == shards[-1] and name.endswith("weight"))
    state = {name: value.detach().numpy() for name, value in original.state_dict().items()}
    rng = np.random.default_rng(7)
    deltas = {name: (0.05 * rng.standard_normal(state[name].shape)).astype(np.float32) for name in (first, last)}
    signature = quantize_signature(deltas, bits=32, metadata={"arch": "bert"})

    ns = namespace.name
    with patchhub.Client(live_server.url, namespace.write_token, progress=False) as client:
        client.models.create(f"{ns}/bert-tiny", arch="bert")
        client.artifacts.push_folder(f"{ns}/bert-tiny", folder, kind="base")
    with live_server.client(namespace.write_token) as http:
        http.post("/v1/models", json={"namespace": ns, "name": "rws-fog", "arch": "bert"}).raise_for_status()
        push(http, ns, "rws-fog", signature.to_bytes(), kind="rws")

    composed_revision = f"v1+{ns}~rws-fog@v1={SCALE}"
    plain, composed = _load_in_a_fresh_interpreter(
        live_server,
        namespace.read_token,
        f"{ns}/bert-tiny",
        ["main", composed_revision],
        tmp_path / "hf",
        tmp_path / "out",
    )

    np.testing.assert_allclose(plain.pop("__output__"), _outputs(original), rtol=1e-5, atol=1e-6)
    for name, value in state.items():
        np.testing.assert_array_equal(plain[name], value)

    by_hand = {name: value.copy() for name, value in state.items()}
    for name in (first, last):
        by_hand[name] = state[name] + np.float32(SCALE) * signature.delta(name)
    for name, value in by_hand.items():
        np.testing.assert_allclose(composed[name], value, rtol=1e-6, atol=1e-7)
    assert not np.array_equal(composed[first], state[first]) and not np.array_equal(composed[last], state[last])
    patched = BertModel(original.config).eval()
    patched.load_state_dict({name: torch.from_numpy(value) for name, value in by_hand.items()})
    np.testing.assert_allclose(composed.pop("__output__"), _outputs(patched), rtol=1e-5, atol=1e-6)
