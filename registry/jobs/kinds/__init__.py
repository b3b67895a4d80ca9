"""Job kinds and their parameters. Adding a kind: a params class here decorated with ``@job_kind``, and a
handler in ``workers/jobs/`` decorated with ``@handles`` for the same name. Importing this package registers
every kind."""

from registry.jobs.kinds import datasets, emov2, pruning, rws, training, uva  # noqa: F401
from registry.jobs.kinds.base import JOB_KINDS, Device, JobKindSpec, JobParams, job_kind

__all__ = ["JOB_KINDS", "Device", "JobKindSpec", "JobParams", "job_kind"]
