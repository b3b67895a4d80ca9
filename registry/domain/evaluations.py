"""Evaluation history: one row per recorded evaluation. Recording is one INSERT, so evaluations of one artifact
that finish at the same time all survive (the history used to be read when a job started and written back
whole, losing all but one), and an artifact's metadata no longer grows with each evaluation. Readers see the
rows as before: a list under ``evaluations`` (or ``uva_evaluations``) in the artifact's metadata."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Evaluation

History = Literal["evaluations", "uva_evaluations"]
Histories = dict[str, list[dict[str, Any]]]  # metadata key -> records, oldest first


def record_evaluation(
    session: Session, artifact_id: str, record: dict[str, Any], history: History = "evaluations"
) -> Evaluation:
    """Append ``record`` (JSON the database accepts) to the artifact's history."""
    row = Evaluation(artifact_id=artifact_id, history=history, record=record)
    session.add(row)
    session.flush()
    return row


def histories_of(session: Session, artifact_ids: Iterable[str]) -> dict[str, Histories]:
    """Every listed artifact's histories (artifact id -> metadata key -> records), in one statement."""
    ids = list(artifact_ids)
    out: dict[str, Histories] = {artifact_id: {} for artifact_id in ids}
    if not ids:
        return out
    rows = session.execute(
        select(Evaluation.artifact_id, Evaluation.history, Evaluation.record)
        .where(Evaluation.artifact_id.in_(ids))
        .order_by(Evaluation.id)
    )
    for artifact_id, history, record in rows:
        out[artifact_id].setdefault(history, []).append(record)
    return out


def metadata_with_histories(meta: Mapping[str, Any], histories: Histories) -> dict[str, Any]:
    """The artifact's metadata as users see it: each history's records under its key, after any list a user
    stored under that key themselves."""
    shown = dict(meta)
    for history, records in histories.items():
        kept = shown.get(history)
        shown[history] = [*(kept if isinstance(kept, list) else []), *records]
    return shown
