"""Artifact references: an artifact id, or ``namespace/name`` with an optional ``@version`` or ``@alias``.

``ns/name`` means the latest version; ``ns/name@3`` and ``ns/name@v3`` a version; ``ns/name@prod`` an alias.
"""

from __future__ import annotations

from dataclasses import dataclass

LATEST = "latest"


@dataclass(frozen=True)
class ParsedRef:
    artifact_id: str | None = None  # set for a bare artifact id
    model: str | None = None  # "namespace/name", set otherwise
    selector: str = LATEST  # a version ("3", "v3") or an alias


def split_model_id(model: str) -> tuple[str, str]:
    """``"ns/name"`` -> ``("ns", "name")``; anything else is a ValueError."""
    namespace, sep, name = model.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise ValueError(f"a model is named 'namespace/name', not {model!r}")
    return namespace, name


def parse_ref(ref: str) -> ParsedRef:
    ref = ref.strip()
    if not ref:
        raise ValueError("an empty artifact reference")
    if "/" not in ref:
        if "@" in ref:
            raise ValueError(f"{ref!r}: a version or alias needs the model, as 'namespace/name@{ref.split('@')[1]}'")
        return ParsedRef(artifact_id=ref)
    model, _, selector = ref.partition("@")
    split_model_id(model)
    if "@" in ref and not selector:
        raise ValueError(f"{ref!r}: nothing after '@' (give a version such as v3 or an alias)")
    return ParsedRef(model=model, selector=selector or LATEST)
