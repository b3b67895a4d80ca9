from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db.base import Base, utcnow


class Composition(Base):
    """A recipe ``base + sum(scale_i * signature_i)``, keyed by its canonical hash. Its output bytes are
    deterministic, computed from the base on first download and cached in the blob store."""

    __tablename__ = "compositions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # recipe hash
    base_id: Mapped[str] = mapped_column(ForeignKey("artifacts.id"), index=True)
    # [{"artifact": id, "scale": float}] in the order the client gave them
    patches: Mapped[list[Any]] = mapped_column(default=list)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # set once the output is cached
    # When the cached output was last read (to the minute): gc evicts the least recently used first.
    last_read_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
