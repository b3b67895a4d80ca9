"""TEMPORARY: moved to ``registry.contract.kinds.base``; removed once every importer uses that."""

from registry.contract.kinds.base import is_builtin_dataset

__all__ = ["is_builtin_dataset"]
