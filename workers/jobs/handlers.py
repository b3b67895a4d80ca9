"""Job kind name -> the function that runs it. A handler takes a JobContext and returns a JobOutcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workers.jobs.context import JobContext


@dataclass
class JobOutcome:
    result: dict[str, Any]  # the job's result JSON (metrics ...)
    message: str = "done"
    # Metadata to merge into existing artifacts when the job succeeds, e.g. evaluation metrics.
    artifact_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)


Handler = Callable[[JobContext], JobOutcome]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if kind in HANDLERS:
            raise ValueError(f"a handler for {kind!r} is already registered")
        HANDLERS[kind] = handler
        return handler

    return register
