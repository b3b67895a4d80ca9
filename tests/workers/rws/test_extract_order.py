"""extract_rws takes layer order from the architecture: the same inputs give the same signature bytes in
every process (safetensors hands tensors back in a per-process order), and first:K covers the first K
conv/linear layers of the network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

from workers.jobs.io import build_model, checkpoint_bytes
from workers.models import create_model

_EXTRACT = """
import json, sys
from pathlib import Path
from registry.models.artifact import ArtifactKind
from registry.contract.context import InputArtifact
from workers.jobs.rws import in_architecture_order
from safetensors.torch import load
from workers.rws.extract import extract_signature

folder = Path(sys.argv[1])
data = {name: (folder / f"{name}.safetensors").read_bytes() for name in ("reference", "clean", "robust")}
artifact = InputArtifact(
    id="c", model="lab/clean", arch="resnet20", arch_config={}, kind=ArtifactKind.checkpoint, file_metadata={},
    meta={}, sha256="", size=len(data["clean"]), data=data["clean"],
)
clean, arch = in_architecture_order(artifact)
signature, report = extract_signature(load(data["reference"]), clean, load(data["robust"]), layers="first:7", bits=8)
print(json.dumps({"sha256": signature.sha256(), "layers": report.selected_layers, "arch": arch}))
"""


def _checkpoints(folder: Path) -> None:
    torch.manual_seed(0)
    model, config = build_model("resnet20", {})
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    for name, scale in (("reference", 0.0), ("clean", 0.01), ("robust", 0.05)):
        generator = torch.Generator().manual_seed(int(scale * 1000))
        moved = {k: v + scale * torch.randn(v.shape, generator=generator) if v.is_floating_point() else v
                 for k, v in reference.items()}  # fmt: skip
        model.load_state_dict(moved)
        (folder / f"{name}.safetensors").write_bytes(checkpoint_bytes(model, "resnet20", config))


def _extract_in_a_new_process(folder: Path, hash_seed: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", _EXTRACT, str(folder)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_same_inputs_same_signature_bytes_in_every_process_and_first_k_is_the_first_k_layers(tmp_path: Path) -> None:
    _checkpoints(tmp_path)
    runs = [_extract_in_a_new_process(tmp_path, seed) for seed in ("1", "2")]
    assert runs[0] == runs[1]
    network = create_model("resnet20")
    modules = dict(network.named_modules())
    weighted = [name for name, m in modules.items() if isinstance(m, (nn.Conv2d, nn.Linear))]
    selected = runs[0]["layers"]
    assert [name for name in selected if name in weighted] == weighted[:7]
    assert weighted[:3] == ["conv1", "stages.0.0.conv1", "stages.0.0.conv2"]
    others = [name for name in selected if name not in weighted]
    assert others and all(isinstance(modules[name], nn.BatchNorm2d) for name in others)
