from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db.base import Base, utcnow
from registry.models.artifact import Artifact

SAFETENSORS = "safetensors"  # a validated safetensors file: its header is the tensor index
OTHER = "other"  # config, tokenizer files, a README card, the shard index: stored, never parsed or executed
ONE_FILE_PATH = "model.safetensors"  # the one file of a one-file version


class StoredFileColumns:
    """A file's bytes (by sha256) and, for safetensors, its header: name -> {dtype, shape, data_offsets},
    and its __metadata__ ({} for other files)."""

    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    tensor_index: Mapped[dict[str, Any]] = mapped_column(default=dict)
    file_metadata: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ArtifactFile(StoredFileColumns, Base):
    """One file of a version (an artifact): a path in the model folder and its bytes in the blob store."""

    __tablename__ = "artifact_files"

    artifact_id: Mapped[str] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(255), primary_key=True)


def one_file_row(artifact: Artifact) -> ArtifactFile:
    """The file row of a one-file version: ``model.safetensors``, the artifact's own bytes and header."""
    return ArtifactFile(
        artifact_id=artifact.id,
        path=ONE_FILE_PATH,
        sha256=artifact.sha256,
        size=artifact.size,
        kind=SAFETENSORS,
        tensor_index=artifact.tensor_index,
        file_metadata=artifact.file_metadata,
    )


class FolderUpload(Base):
    """A folder being uploaded as one version: files are stored as they arrive (content-addressed, not yet
    referenced by any version); ``complete`` makes them one artifact in one transaction."""

    __tablename__ = "folder_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    artifact_id: Mapped[str | None] = mapped_column(ForeignKey("artifacts.id", ondelete="SET NULL"), default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"metadata": ..., "parents": [...]}


class FolderUploadFile(StoredFileColumns, Base):
    """A file of a folder upload, stored and validated (its blob is kept by gc while the upload lives)."""

    __tablename__ = "folder_upload_files"

    upload_id: Mapped[str] = mapped_column(ForeignKey("folder_uploads.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
