"""``lapp_prune``: train from scratch while pruning to a FLOPs budget; output a physically smaller network."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from registry.contract.kinds.base import job_kind
from registry.contract.kinds.training import DatasetChoice
from registry.contract.kinds.zoo_names import LAPP_NAMES


@job_kind("lapp_prune", "LAPP pruning to a FLOPs target; output: a pruned artifact with its smaller arch config")
class LappPruneParams(DatasetChoice):
    output_model: str = Field(description="'ns/name' the pruned network is registered under; created if missing")
    arch: Literal[LAPP_NAMES] = "resnet20"  # type: ignore[valid-type]
    target_flops_ratio: float = Field(default=0.5, gt=0, le=1, description="FLOPs kept, e.g. 0.403")
    epochs: int = Field(default=10, ge=1, le=1000)
    pruning_epochs: int = Field(default=3, ge=1, description="masks are learned then frozen in these epochs")
    bypass: Literal["depthwise", "pointwise", "folded", "none"] = Field(
        default="depthwise",
        description=(
            "lightweight bypass around each block's prunable convs: 'depthwise' (3x3) or 'pointwise' (1x1), "
            "ungated and kept in the pruned network; 'folded' (ablation: 1x1 beside each conv, gated, folded "
            "away at extraction); 'none'"
        ),
    )
    lr: float = Field(default=0.05, gt=0, le=10)
    batch_size: int = Field(default=64, ge=1, le=8192)
    seed: int = 0

    output_model_fields: ClassVar[tuple[str, ...]] = ("output_model",)
    artifact_fields: ClassVar[tuple[str, ...]] = ("dataset",)

    @model_validator(mode="after")
    def _pruning_within_training(self) -> LappPruneParams:
        if self.pruning_epochs > self.epochs:
            raise ValueError("pruning_epochs must not exceed epochs")
        return self
