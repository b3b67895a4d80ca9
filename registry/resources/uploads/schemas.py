from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from registry.field_limits import MAX_PARENTS, MAX_REF_CHARS
from registry.models.artifact import ArtifactKind

Transfer = Literal["streamed", "direct"]


class UploadCreate(BaseModel):
    kind: ArtifactKind
    transfer: Transfer = Field(
        default="streamed",
        description="direct: parts go straight to the object store through presigned URLs, when it offers them "
        "(the answer says which was granted)",
    )
    sha256: str | None = Field(
        default=None,
        max_length=64,
        description="the whole file's sha256, when known: complete then checks it (and may be sent without "
        "it), and a direct upload is joined at its content address instead of being copied there",
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    parents: list[Annotated[str, Field(max_length=MAX_REF_CHARS)]] = Field(default_factory=list, max_length=MAX_PARENTS)


class PartOut(BaseModel):
    number: int
    size: int
    sha256: str | None = Field(description="checked when the part reached the API; null for direct uploads")
    etag: str | None = Field(default=None, description="direct uploads: the store's ETag (MD5 of the part on S3)")


class PartUrlOut(BaseModel):
    number: int
    url: str = Field(description="send the part's bytes here, with no Authorization header")
    method: Literal["PUT"]
    expires_at: datetime = Field(description="the URL must be used before then; ask again for a new one")


class UploadOut(BaseModel):
    id: str
    model: str
    kind: ArtifactKind
    transfer: Transfer = Field(
        description="where parts go: PUT /v1/uploads/{id}/parts/{n} (streamed) or presigned URLs"
    )
    created_at: datetime
    expires_at: datetime
    parts: list[PartOut] = Field(description="parts stored so far; a client resumes after the last one")
    artifact_id: str | None = Field(description="set once the upload is complete")


class UploadComplete(BaseModel):
    sha256: str | None = Field(default=None, max_length=64, description="the whole file's sha256; checked when given")
