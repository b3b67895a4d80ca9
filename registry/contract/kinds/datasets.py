"""``import_dataset``: a built-in dataset registered as a ``dataset`` artifact others can train on and share."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from registry.contract.kinds.base import BUILTIN_DATASETS, DATASET_ARCH, is_builtin_dataset, job_kind
from registry.contract.kinds.training import DatasetChoice


@job_kind("import_dataset", "register a built-in dataset (one split, one size) as a dataset artifact")
class ImportDatasetParams(DatasetChoice):
    output_model: str = Field(description="'ns/name' the dataset is registered under; created if missing")
    split: Literal["train", "test", "all"] = Field(default="train", description="which split to import")

    output_model_fields: ClassVar[tuple[str, ...]] = ("output_model",)

    def output_arch(self, input_arch: Callable[[str], str]) -> str:
        return DATASET_ARCH

    @field_validator("dataset")
    @classmethod
    def _builtin_only(cls, value: str) -> str:
        if not is_builtin_dataset(value):
            raise ValueError(f"import_dataset imports a built-in dataset: one of {', '.join(BUILTIN_DATASETS)}")
        return value
