"""Bounds on user JSON that hold before anything parses it: nesting depth and serialized size.

Python's ``json`` recurses once per level (a document nested a few thousand deep raises RecursionError, and
even a few hundred levels cost the database and every reader), so depth is measured on the raw bytes first.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_EMPTY_PAIR = re.compile(rb"\[\]|\{\}")
_NOT_A_NUMBER = re.compile(rb"NaN|Infinity")
_EXPONENT_NUMBER = re.compile(rb"-?[0-9][0-9.]*[eE][+-]?[0-9]+|[0-9.]{300,}")
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def storable_problem(document: bytes) -> str | None:
    """What in the JSON ``document`` no database column can hold, or None: Python's parser accepts NaN,
    Infinity and numbers past a float (1e400), Postgres refuses all three; text columns refuse NUL."""
    outside_strings = _STRING.sub(b'""', document)
    if _NOT_A_NUMBER.search(outside_strings):
        return "NaN and Infinity are not JSON numbers"
    for number in _EXPONENT_NUMBER.finditer(outside_strings):
        try:
            value = float(number.group())
        except ValueError:
            continue  # not a number at all: the parser will say so
        if math.isinf(value):
            return f"the number {number.group()[:40].decode()} is past the largest float"
    if _NUL_ESCAPE.search(document):
        return "strings must not contain NUL (\\u0000)"
    return None


def nested_deeper_than(document: bytes | str, max_depth: int) -> bool:
    """Whether the JSON ``document`` nests arrays and objects more than ``max_depth`` levels deep.

    Strings are dropped, then only brackets are kept; each pass removes the innermost empty pairs, so a
    document of depth D is gone after exactly D passes. Each pass is linear and runs in C; at most
    ``max_depth`` passes run. Brackets that do not balance are not JSON: the parser reports that, not this.
    """
    raw = document.encode() if isinstance(document, str) else document
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") != brackets.count(b"]") + brackets.count(b"}"):
        return False
    for _ in range(max_depth):
        if not brackets:
            return False
        brackets = _EMPTY_PAIR.sub(b"", brackets)
    return bool(brackets)


def serialized_size(value: Any) -> int:
    """Bytes ``value`` takes as compact JSON (what is stored and sent back)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def check_json_field(value: Any, name: str, max_bytes: int) -> Any:
    """A pydantic validator body: ``value`` must fit in ``max_bytes`` of JSON."""
    if serialized_size(value) > max_bytes:
        raise ValueError(f"{name} is larger than {max_bytes} bytes of JSON")
    return value
