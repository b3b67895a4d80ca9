"""UVA jobs: generate demonstrations of the simulated point-goal task, train, evaluate every mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field

from registry.contract.kinds.base import DATASET_ARCH, JobParams, job_kind
from registry.contract.kinds.zoo_names import UVA_NAMES

Mode = Literal["video", "forward_dynamics", "policy", "inverse_dynamics", "joint"]


@job_kind("generate_uva_demos", "expert and random-action episodes of the point-goal sim; output: a dataset")
class GenerateUvaDemosParams(JobParams):
    output_model: str = Field(description="'ns/name' the dataset is registered under; created if missing")
    num_expert: int = Field(default=200, ge=0, le=100_000)
    num_random: int = Field(default=100, ge=0, le=100_000)
    episode_length: int = Field(default=24, ge=8, le=1000)
    seed: int = 0
    image_size: int = Field(default=16, ge=8, le=128)

    output_model_fields: ClassVar[tuple[str, ...]] = ("output_model",)

    def output_arch(self, input_arch: Callable[[str], str]) -> str:
        return DATASET_ARCH


@job_kind("train_uva", "train the unified video-action model (video stage, then all modes); output: checkpoint")
class TrainUvaParams(JobParams):
    output_model: str = Field(description="'ns/name' the checkpoint is registered under; created if missing")
    arch: Literal[UVA_NAMES] = "uva"  # type: ignore[valid-type]
    dataset: str = Field(description="a demonstrations dataset artifact (generate_uva_demos)")
    model: dict[str, Any] = Field(default_factory=dict, description="UVAConfig overrides (width, depth, counts)")
    video_steps: int = Field(default=300, ge=0, le=1_000_000, description="stage 1: video generation only")
    joint_steps: int = Field(default=1500, ge=0, le=1_000_000, description="stage 2: a mode drawn per batch")
    joint_modes: list[Mode] = Field(
        default=["video", "forward_dynamics", "policy", "inverse_dynamics", "joint"],
        min_length=1,
        description='["policy"] trains the action-only ablation',
    )
    batch_size: int = Field(default=32, ge=1, le=4096)
    learning_rate: float = Field(default=1e-3, gt=0, le=1)
    ema_decay: float = Field(default=0.999, gt=0, lt=1)
    seed: int = 0

    artifact_fields: ClassVar[tuple[str, ...]] = ("dataset",)
    output_model_fields: ClassVar[tuple[str, ...]] = ("output_model",)


@job_kind("evaluate_uva", "policy success in closed loop, video, forward and inverse dynamics errors")
class EvaluateUvaParams(JobParams):
    artifact: str = Field(description="a UVA checkpoint")
    dataset: str = Field(description="held-out demonstrations for the video and dynamics metrics")
    num_policy_seeds: int = Field(default=50, ge=1, le=10_000)
    num_clips: int = Field(default=256, ge=1, le=100_000)
    num_iter: int = Field(default=16, ge=1, le=256, description="MAR decoding steps for video modes")
    seed: int = 0

    artifact_fields: ClassVar[tuple[str, ...]] = ("artifact", "dataset")
