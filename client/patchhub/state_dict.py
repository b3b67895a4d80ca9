"""Loading a safetensors file as a state dict of numpy arrays or torch tensors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

Framework = Literal["numpy", "torch"]


def load_state_dict(path: str | Path, framework: Framework = "numpy") -> dict[str, Any]:
    """A safetensors file's tensors as numpy arrays (default) or torch tensors (torch must be installed)."""
    if framework == "torch":
        from safetensors.torch import load_file as load_torch

        return dict(load_torch(str(path)))
    from safetensors.numpy import load_file as load_numpy

    return dict(load_numpy(str(path)))
