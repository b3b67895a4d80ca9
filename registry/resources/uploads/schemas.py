from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from registry.field_limits import MAX_PARENTS, MAX_REF_CHARS
from registry.models.artifact import ArtifactKind


class UploadCreate(BaseModel):
    kind: ArtifactKind
    metadata: dict[str, Any] = Field(default_factory=dict)
    parents: list[Annotated[str, Field(max_length=MAX_REF_CHARS)]] = Field(default_factory=list, max_length=MAX_PARENTS)


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
    sha256: str | None = Field(default=None, max_length=64, description="the whole file's sha256; checked when given")
