"""Robust Weight Signature jobs: corrupt a dataset, extract a signature from clean and robust fine-tunes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from registry.contract.kinds.base import DATASET_ARCH, job_kind
from registry.contract.kinds.corruption_names import CORRUPTION_NAMES
from registry.contract.kinds.training import DatasetChoice

Corruption = Literal[CORRUPTION_NAMES]  # type: ignore[valid-type]
_LAYER_RULE = re.compile(r"^(first:[1-9][0-9]*|auto:(0?\.[0-9]+|1(\.0*)?))$")


@job_kind("corrupt_dataset", "apply one corruption at one severity to a dataset; output: a dataset artifact")
class CorruptDatasetParams(DatasetChoice):
    output_model: str = Field(description="'ns/name' the corrupted dataset is registered under; created if missing")
    corruption: Corruption
    severity: int = Field(ge=1, le=5)
    split: Literal["train", "test", "all"] = Field(default="train", description="split of built-in datasets")
    seed: int = 0

    artifact_fields: ClassVar[tuple[str, ...]] = ("dataset",)
    output_model_fields: ClassVar[tuple[str, ...]] = ("output_model",)

    def output_arch(self, input_arch: Callable[[str], str]) -> str:
        return DATASET_ARCH


@job_kind("extract_rws", "extract a robust weight signature from clean and robust fine-tunes; output: rws")
class ExtractRwsParams(DatasetChoice):
    output_model: str = Field(description="'ns/name' the signature is registered under; created if missing")
    clean: str = Field(description="the clean fine-tune (artifact)")
    robust: str = Field(description="the robust fine-tune of the same architecture (artifact)")
    reference: str | None = Field(
        default=None, description="the shared starting weights; without it the signature is robust - clean"
    )
    layers: str | list[str] = Field(
        default="first:7", description="'first:K' (the paper), 'auto:F' (layers holding F of the delta energy) or names"
    )
    bits: Literal[1, 2, 4, 8, 32] = 8
    scheme: Literal["per_tensor", "per_channel"] = "per_tensor"
    corruption: str = Field(default="", max_length=64, description="recorded in the signature's metadata")
    severity: int | None = Field(default=None, ge=1, le=5)

    artifact_fields: ClassVar[tuple[str, ...]] = ("clean", "robust", "reference")
    output_model_fields: ClassVar[tuple[str, ...]] = ("output_model",)

    def output_arch(self, input_arch: Callable[[str], str]) -> str:
        return input_arch("clean")  # a signature patches the architecture it was extracted from

    @field_validator("layers")
    @classmethod
    def _layer_rule(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str) and not _LAYER_RULE.fullmatch(value):
            raise ValueError("use 'first:K', 'auto:F' (0 < F <= 1) or a list of layer names")
        return value
