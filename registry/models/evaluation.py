from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db.base import Base, utcnow


class Evaluation(Base):
    """One recorded evaluation of an artifact (what an ``evaluate`` or ``uva_evaluate`` job measured). A row
    each, so evaluations that finish at the same time all survive and the artifact's metadata stays small; the
    API shows an artifact's rows, oldest first, as the list under ``history`` in its metadata."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)  # the order they were recorded in
    artifact_id: Mapped[str] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"), index=True)
    # The metadata key the API lists this record under: "evaluations", or "uva_evaluations" for policies.
    history: Mapped[str] = mapped_column(String(64))
    # What was measured: {"job", "dataset", "split", "top1", ...} exactly as it appears in the history.
    record: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
