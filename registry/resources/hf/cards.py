"""A model card's metadata: the YAML front matter of a version's README.md, read with PyYAML's safe loader (plain
data only: no tags that build objects)."""

from __future__ import annotations

import json
from typing import Any

import yaml

CARD_FILE = "README.md"
MAX_CARD_BYTES = 256 * 1024  # the front matter is read from the first bytes of the card only


def card_data(readme_head: bytes) -> dict[str, Any] | None:
    """The front matter of a card that starts with ``---``, as JSON-safe data; None when it has none or it is not
    a YAML mapping (a card is prose first: a bad header is not an error)."""
    text = readme_head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        return None
    front = "\n".join(lines[1:end])
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(front)):
            return None  # aliases can make a small header expand into a huge document
        data = yaml.safe_load(front)
        if not isinstance(data, dict):
            return None
        return dict(json.loads(json.dumps(data, default=str)))  # dates and other YAML scalars as strings
    except (yaml.YAMLError, TypeError, ValueError, RecursionError):
        return None
