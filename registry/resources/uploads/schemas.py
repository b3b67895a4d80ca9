from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from registry.models.artifact import ArtifactKind


class UploadCreate(BaseModel):
    kind: ArtifactKind
    metadata: dict[str, Any] = Field(default_factory=dict)
    parents: list[str] = Field(default_factory=list)


class PartOut(BaseModel):
    number: int
    size: int
    sha256: str


class UploadOut(BaseModel):
    id: str
    model: str
    kind: ArtifactKind
    created_at: datetime
    expires_at: datetime
    parts: list[PartOut] = Field(description="parts stored so far; a client resumes after the last one")
    artifact_id: str | None = Field(description="set once the upload is complete")


class UploadComplete(BaseModel):
    sha256: str | None = Field(default=None, description="the whole file's sha256; checked when given")
