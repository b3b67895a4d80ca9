"""Validation of user-chosen names (namespaces, models, aliases): no path characters, ever."""

from __future__ import annotations

import re

from registry.errors import Invalid

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(value: str, what: str) -> str:
    if not _NAME.fullmatch(value) or ".." in value:
        raise Invalid(
            f"{what} {value[:80]!r} is not a valid name: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value
