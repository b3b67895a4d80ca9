"""Numbers read from user text (versions, page tokens, byte ranges): ASCII digits only, bounded to what the
database stores (a signed 64-bit integer), so no input reaches SQL or ``int()`` unchecked."""

from __future__ import annotations

import re

MAX_DB_INT = 2**63 - 1
# Ids of the rows numbered by a plain INTEGER key (tokens, job log lines): 32-bit on Postgres, so a larger id
# in a query would fail there (integer out of range) instead of finding nothing.
MAX_ROW_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]+")


def parse_count(text: str) -> int | None:
    """``text`` as a non-negative integer, or None if it is not plain ASCII digits or is past MAX_DB_INT."""
    if not _DIGITS.fullmatch(text):
        return None
    significant = text.lstrip("0")
    if len(significant) > len(str(MAX_DB_INT)):
        return None
    value = int(significant or "0")
    return value if value <= MAX_DB_INT else None
