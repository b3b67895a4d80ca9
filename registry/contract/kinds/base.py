"""What every job kind shares: validated params, artifact references, the device that picks the queue."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

MAX_SEED = 2**32 - 1  # what every random generator the workers seed accepts
DATASET_ARCH = "dataset"  # the architecture of models holding datasets
UNKNOWN_ARCH = "unknown"


class Device(str, enum.Enum):
    cpu = "cpu"
    gpu = "gpu"
    auto = "auto"  # the cpu queue; a worker that also serves gpu picks it up and uses CUDA when present

    @property
    def queue(self) -> str:
        return "gpu" if self is Device.gpu else "cpu"


class JobParams(BaseModel):
    """Base of every kind's params. Unknown fields are errors, so a typo is a 422, not a silent default."""

    model_config = ConfigDict(extra="forbid")

    device: Device = Device.auto

    # The kind's one key: set by ``@job_kind``; the API validates submissions of it with this class and the
    # worker hands the handler registered with ``@handles(<this class>)`` an instance of it.
    kind: ClassVar[str]

    # Fields holding artifact references (an artifact id or "ns/name@ref"); the service resolves them to ids
    # at submission, checks the caller may read them, and records them as the outputs' parents.
    artifact_fields: ClassVar[tuple[str, ...]] = ()
    # Fields naming the model ("ns/name") outputs are registered under; the caller needs write access there.
    output_model_fields: ClassVar[tuple[str, ...]] = ()

    @field_validator("*")
    @classmethod
    def _seeds_in_range(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        if (name == "seed" or name.endswith("_seed")) and isinstance(value, int) and not 0 <= value <= MAX_SEED:
            raise ValueError(f"a seed must be between 0 and {MAX_SEED}")
        return value

    def output_arch(self, input_arch: Callable[[str], str]) -> str:
        """The architecture a model created for this job's outputs is registered with: the ``arch`` field's value
        where the kind has one. ``input_arch(field)`` is that of the model of the artifact ``field`` names."""
        return str(getattr(self, "arch", UNKNOWN_ARCH))

    @classmethod
    def expected_kinds(cls, field: str) -> tuple[str, ...]:
        """The artifact kinds an artifact field accepts: datasets for dataset fields, weights otherwise."""
        return DATASET_KINDS if field in DATASET_FIELDS else WEIGHT_KINDS


@dataclass(frozen=True)
class JobKindSpec:
    name: str
    params: type[JobParams]
    description: str


JOB_KINDS: dict[str, JobKindSpec] = {}


def job_kind(name: str, description: str) -> Callable[[type[JobParams]], type[JobParams]]:
    def register(params: type[JobParams]) -> type[JobParams]:
        if name in JOB_KINDS:
            raise ValueError(f"job kind {name!r} is already registered")
        JOB_KINDS[name] = JobKindSpec(name=name, params=params, description=description)
        params.kind = name
        return params

    return register


DATASET_FIELDS = ("dataset", "val_dataset")
DATASET_KINDS = ("dataset",)
WEIGHT_KINDS = ("base", "checkpoint", "pruned")
BUILTIN_DATASET_PREFIX = "builtin:"
BUILTIN_DATASETS = ("builtin:digits", "builtin:fashion-mnist")


def is_builtin_dataset(value: str) -> bool:
    return value.startswith(BUILTIN_DATASET_PREFIX)
