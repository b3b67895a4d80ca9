from __future__ import annotations

import hashlib
import json
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


class CompositionRecipe(Base):
    """The artifacts one registration named for a composition. The composition (its id, output and cache) is
    the bytes' and shared; reading it needs a recipe whose artifacts the reader can read, so a namespace
    that composes the same bytes from its own artifacts reads its own recipe, and others still cannot."""

    __tablename__ = "composition_recipes"

    composition_id: Mapped[str] = mapped_column(ForeignKey("compositions.id", ondelete="CASCADE"), primary_key=True)
    inputs: Mapped[str] = mapped_column(String(64), primary_key=True)  # hash of base_id and patches
    base_id: Mapped[str] = mapped_column(ForeignKey("artifacts.id"), index=True)
    patches: Mapped[list[Any]] = mapped_column(default=list)  # [{"artifact": id, "scale": float}]
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def recipe_inputs(base_id: str, patches: list[Any]) -> str:
    """The key of a recipe's artifacts among its composition's recipes (migration 0008 keeps a frozen copy)."""
    entries = [[patch["artifact"], repr(float(patch["scale"]))] for patch in patches]
    return hashlib.sha256(json.dumps([base_id, entries], separators=(",", ":")).encode()).hexdigest()
