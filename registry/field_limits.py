"""Sizes of the fields users send (docs/limits.md lists them with the configurable limits in settings)."""

from __future__ import annotations

MAX_NAME_CHARS = 64  # namespaces, models, aliases (registry/names.py checks the characters)
MAX_REF_CHARS = 256  # an artifact reference: an id, or 'namespace/name@version-or-alias'
MAX_PARENTS = 32  # lineage parents of one artifact
MAX_FILTER_CHARS = 256  # list filters: q, arch, tag
MAX_DESCRIPTION_CHARS = 4096
MAX_ARCH_CONFIG_BYTES = 64 * 1024  # a model's arch_config, as compact JSON
MAX_JOB_PARAMS_BYTES = 64 * 1024  # a job's params, as compact JSON
