"""Job kinds and their parameters: one pydantic model per kind, registered under the kind's name with
``@job_kind``. The API validates submissions with it; the worker's handler (``@handles(ThatModel)``) receives an
instance of it. Importing this package registers every kind."""

from registry.contract.kinds import datasets, emov2, pruning, rws, training, uva  # noqa: F401
from registry.contract.kinds.base import JOB_KINDS, Device, JobKindSpec, JobParams, job_kind

__all__ = ["JOB_KINDS", "Device", "JobKindSpec", "JobParams", "job_kind"]
