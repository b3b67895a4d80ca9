"""A streamed parser for the JSON header of a safetensors file, with its limits enforced while it parses.

The header is fed in pieces (as an upload arrives) to ijson's C parser; only its events are kept, so the raw
JSON is never held whole. The format's shape is fixed (an object of tensor entries, each an object with a
string and two arrays of integers, plus an optional string-to-string ``__metadata__``), so anything nested
deeper or shaped otherwise, the ``max_tensors + 1``-th tensor, a repeated key or an over-long name is refused
at the event that shows it, before the rest is read. Memory is the parsed entries (bounded by
``max_tensors``) plus one JSON token and one slice of input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ijson

if TYPE_CHECKING:
    from patchhub.safetensors_format import HeaderLimits

METADATA_KEY = "__metadata__"
ENTRY_FIELDS = ("dtype", "shape", "data_offsets")
MAX_DIMS = 64  # of one tensor's shape; numpy allows 64
SLICE = 64 * 1024  # input given to the parser at once: bounds the events waiting to be looked at


class HeaderShapeError(ValueError):
    """The header is not shaped as a safetensors header, or breaks a limit."""


class HeaderStream:
    def __init__(self, limits: HeaderLimits) -> None:
        self._limits = limits
        self._events = ijson.sendable_list()
        self._parser = ijson.basic_parse_coro(self._events, use_float=True)
        self._depth = 0
        self._key: str | None = None  # the top-level key being read (a tensor name or __metadata__)
        self._field: str | None = None  # the entry field being read
        self._entry: dict[str, Any] = {}
        self._array: list[Any] | None = None
        self.entries: dict[str, dict[str, Any]] = {}
        self.metadata: dict[str, str] | None = None
        self._metadata_bytes = 0
        self._done = False

    def feed(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        for start in range(0, len(view), SLICE):
            try:
                self._parser.send(bytes(view[start : start + SLICE]))
            except ijson.JSONError as exc:
                raise HeaderShapeError(f"not valid UTF-8 JSON: {exc}") from None
            self._drain()

    def finish(self) -> None:
        try:
            self._parser.close()
        except ijson.JSONError as exc:
            raise HeaderShapeError(f"not valid UTF-8 JSON: {exc}") from None
        self._drain()
        if not self._done:
            raise HeaderShapeError("not valid UTF-8 JSON: the header ends inside its JSON")

    def _drain(self) -> None:
        # The two commonest events (a number inside shape/data_offsets, an entry field's name) take a short
        # path; everything else goes through _on.
        for event, value in self._events:
            array = self._array
            if array is not None and event == "number" and len(array) < MAX_DIMS:
                array.append(value)
            elif event == "map_key" and self._depth == 2 and self._key != METADATA_KEY and value not in self._entry:
                if value not in ENTRY_FIELDS:
                    raise HeaderShapeError(f"tensor {self._key!r} must have exactly dtype, shape and data_offsets")
                self._field = value
            else:
                self._on(event, value)
        del self._events[:]

    def _on(self, event: str, value: Any) -> None:
        if event in ("start_map", "start_array"):
            self._open(event)
        elif event in ("end_map", "end_array"):
            self._close()
        elif event == "map_key":
            self._on_key(value)
        else:
            self._on_value(value)

    def _open(self, event: str) -> None:
        self._depth += 1
        if self._depth == 1:
            if event != "start_map":
                raise HeaderShapeError("must be a JSON object")
        elif self._depth == 2:
            if event != "start_map":
                raise HeaderShapeError(self._not_an_object())
        elif self._depth == 3 and self._key != METADATA_KEY and self._field in ("shape", "data_offsets"):
            if event != "start_array":
                raise HeaderShapeError(f"tensor {self._key!r} has an invalid {self._field}")
            self._array = []
        else:
            raise HeaderShapeError(f"nests deeper than a safetensors header can (at {self._key!r})")

    def _close(self) -> None:
        self._depth -= 1
        if self._depth == 2 and self._array is not None:
            self._entry[self._field or ""] = self._array
            self._array = None
        elif self._depth == 1 and self._key != METADATA_KEY:
            self.entries[self._key or ""] = self._entry
            self._entry = {}
        elif self._depth == 0:
            self._done = True

    def _on_key(self, key: str) -> None:
        if self._depth == 1:
            self._start_top_level(key)
        elif self._key == METADATA_KEY:
            self._field = key
            self._count_metadata(key)
        else:
            if key not in ENTRY_FIELDS or key in self._entry:
                raise HeaderShapeError(f"tensor {self._key!r} must have exactly dtype, shape and data_offsets")
            self._field = key

    def _start_top_level(self, key: str) -> None:
        if key in self.entries or (key == METADATA_KEY and self.metadata is not None):
            raise HeaderShapeError(f"names {key[:80]!r} twice")
        self._key = key
        if key == METADATA_KEY:
            self.metadata = {}
            return
        if len(self.entries) >= self._limits.max_tensors:
            raise HeaderShapeError(f"holds more tensors than the limit of {self._limits.max_tensors}")
        if not key or len(key) > self._limits.max_name_length or "\x00" in key:
            raise HeaderShapeError(f"invalid tensor name {key[:80]!r}")

    def _on_value(self, value: Any) -> None:
        if self._depth == 1:
            raise HeaderShapeError(self._not_an_object())
        if self._key == METADATA_KEY:
            if not isinstance(value, str):
                raise HeaderShapeError("__metadata__ must map strings to strings")
            assert self.metadata is not None and self._field is not None
            self.metadata[self._field] = value
            self._count_metadata(value)
        elif self._array is not None:
            if len(self._array) >= MAX_DIMS:
                raise HeaderShapeError(f"tensor {self._key!r} has more than {MAX_DIMS} entries in {self._field}")
            self._array.append(value)
        else:
            self._entry[self._field or ""] = value

    def _count_metadata(self, text: str) -> None:
        self._metadata_bytes += len(text)
        if self._metadata_bytes > self._limits.max_metadata_bytes:
            raise HeaderShapeError(f"__metadata__ is larger than {self._limits.max_metadata_bytes} bytes")

    def _not_an_object(self) -> str:
        if self._key == METADATA_KEY:
            return "__metadata__ must map strings to strings"
        return f"tensor {self._key!r} must have exactly dtype, shape and data_offsets"
