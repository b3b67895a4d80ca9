"""The model zoo: every architecture patchhub can rebuild from (arch name, config JSON).

Each architecture family lives in its own module and registers its variants with
``@register_model``. A variant is a function that returns a config dataclass; the family's
``build`` turns a config into an ``nn.Module``. Artifacts store ``arch`` (variant name) and
``arch_config`` (``dataclasses.asdict`` of the config) so they can be rebuilt exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn


@dataclass(frozen=True)
class ModelEntry:
    name: str
    default_config: Callable[[], Any]  # returns the variant's config dataclass
    build: Callable[[Any], nn.Module]  # config -> module


_ZOO: dict[str, ModelEntry] = {}


def register_model(name: str, build: Callable[[Any], nn.Module]) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register a variant: decorate a zero-argument function returning its config dataclass."""

    def decorator(default_config: Callable[[], Any]) -> Callable[[], Any]:
        if name in _ZOO:
            raise ValueError(f"model {name!r} is already registered")
        _ZOO[name] = ModelEntry(name=name, default_config=default_config, build=build)
        return default_config

    return decorator


def available_models() -> list[str]:
    return sorted(_ZOO)


def model_config(name: str, **overrides: Any) -> Any:
    """The config dataclass of variant ``name`` with ``overrides`` applied (unknown keys are errors)."""
    try:
        entry = _ZOO[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(available_models())}") from None
    config = entry.default_config()
    known = {f.name for f in dataclasses.fields(config)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"{name}: unknown config fields {sorted(unknown)}")
    return dataclasses.replace(config, **_coerce_lists(overrides))


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build variant ``name``; ``overrides`` replace config fields (e.g. ``num_classes=10``)."""
    return _ZOO[name].build(model_config(name, **overrides)) if name in _ZOO else _unknown(name)


def config_to_json(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def _coerce_lists(values: dict[str, Any]) -> dict[str, Any]:
    # JSON round-trips turn tuples into lists; configs use tuples so they stay hashable.
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


def _unknown(name: str) -> nn.Module:
    raise KeyError(f"unknown model {name!r}; known: {', '.join(available_models())}")
