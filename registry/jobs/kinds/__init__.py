"""TEMPORARY: the kinds moved to ``registry.contract.kinds``; removed once every importer uses that."""

from registry.contract.kinds import JOB_KINDS, JobParams

__all__ = ["JOB_KINDS", "JobParams"]
