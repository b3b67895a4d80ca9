"""One handler per job kind, typed on the kind's params model and registered under the kind's one key: the name
``@job_kind`` gave that model. ``@handles(TrainParams)`` registers ``run_train(context, params: TrainParams)``;
the worker validates the job's stored params with that model and passes the instance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from registry.contract.context import JobContext
from registry.contract.kinds import JOB_KINDS, JobParams
from registry.domain.evaluations import History

P = TypeVar("P", bound=JobParams)


@dataclass
class JobOutcome:
    result: dict[str, Any]  # the job's result JSON (metrics ...)
    message: str = "done"
    # Metadata to merge into existing artifacts when the job succeeds, e.g. a robustness report.
    artifact_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (artifact id, history, record): evaluations recorded as rows when the job succeeds (registry.domain.evaluations)
    evaluations: list[tuple[str, History, dict[str, Any]]] = field(default_factory=list)


Handler = Callable[[JobContext, P], JobOutcome]
HANDLERS: dict[str, Handler[Any]] = {}


def handles(params: type[P]) -> Callable[[Handler[P]], Handler[P]]:
    """Register the handler of the kind ``params`` is the model of."""
    kind = params.kind

    def register(handler: Handler[P]) -> Handler[P]:
        if kind in HANDLERS:
            raise ValueError(f"a handler for {kind!r} is already registered")
        HANDLERS[kind] = handler
        return handler

    return register


def run_handler(context: JobContext) -> JobOutcome:
    """Run the job's handler on its params, validated by its kind's model (a field renamed since the job was
    submitted fails here with the model's message, not as a KeyError deep in the handler)."""
    kind = context.claim.kind
    params = JOB_KINDS[kind].params.model_validate(context.claim.params)
    return HANDLERS[kind](context, params)
