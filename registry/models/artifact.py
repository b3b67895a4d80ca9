from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db.base import Base, utcnow


class ArtifactKind(str, enum.Enum):
    base = "base"  # full weights
    rws = "rws"  # a robust weight signature
    pruned = "pruned"  # LAPP output: weights of a smaller architecture + its config
    checkpoint = "checkpoint"  # training output
    dataset = "dataset"  # images uint8 [N,C,H,W] + labels int64 [N] (or a task's own tensors)


class Artifact(Base):
    """An immutable version of a model: one safetensors file, or a folder of files (``ArtifactFile``). The bytes
    live in the blob store by sha256."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("model_id", "version"), UniqueConstraint("job_id", "job_output"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    kind: Mapped[ArtifactKind] = mapped_column(Enum(ArtifactKind, native_enum=False, length=16))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    parameter_count: Mapped[int] = mapped_column(BigInteger)
    tensor_count: Mapped[int]
    # The safetensors header: name -> {dtype, shape, data_offsets}, and its __metadata__ map.
    tensor_index: Mapped[dict[str, Any]] = mapped_column(default=dict)
    file_metadata: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # User-supplied JSON: metrics, corruption, bits, layers, FLOPs ...
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), default=None, index=True)
    # The output's name within its job: a redelivered job finds what it already registered, never twice.
    job_output: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who made it: the uploading token's name, or for a job's output the token that submitted the job.
    created_by: Mapped[str] = mapped_column(String(128), default="", server_default="")
    # How many files the version holds (artifact_files): 1 for a one-file version, whose sha256 is its file's;
    # a folder's sha256 is its folder digest (registry/resources/artifacts/files.py), not a blob.
    file_count: Mapped[int] = mapped_column(default=1, server_default="1")

    parent_links: Mapped[list[ArtifactParent]] = relationship(
        lazy="raise", foreign_keys="ArtifactParent.artifact_id", order_by="ArtifactParent.position"
    )


class ArtifactParent(Base):
    """Lineage: the artifacts an artifact was made from, in the order given."""

    __tablename__ = "artifact_parents"

    artifact_id: Mapped[str] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True)
    parent_id: Mapped[str] = mapped_column(ForeignKey("artifacts.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(default=0)


class Alias(Base):
    """A movable name for one artifact of a model (``latest`` follows the newest version automatically)."""

    __tablename__ = "aliases"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    artifact_id: Mapped[str] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
