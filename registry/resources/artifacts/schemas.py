from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from registry.field_limits import MAX_REF_CHARS
from registry.models.artifact import ArtifactKind
from registry.numbers import MAX_DB_INT


class ArtifactRef(BaseModel):
    id: str
    model: str = Field(description="namespace/name")
    version: int
    kind: ArtifactKind


class ArtifactOut(ArtifactRef):
    sha256: str
    size: int
    parameter_count: int
    tensor_count: int
    file_metadata: dict[str, str] = Field(description="the safetensors __metadata__ map")
    metadata: dict[str, Any] = Field(description="user metadata: metrics, corruption, bits, FLOPs ...")
    parents: list[ArtifactRef] = Field(description="lineage: the artifacts this one was made from")
    job_id: str | None = Field(description="lineage: the job that produced this artifact")
    aliases: list[str]
    created_at: datetime
    created_by: str = Field(description="the uploading token's name (for a job's output, the job's submitter)")
    file_count: int = Field(default=1, description="files in the version: 1, or a folder's (GET .../files lists them)")


class ArtifactPage(BaseModel):
    items: list[ArtifactOut]
    next_page_token: str | None


class TensorOut(BaseModel):
    name: str
    dtype: str
    shape: list[int]
    numel: int
    file: str = Field(
        default="model.safetensors", description="the file of the version holding it (a shard of a folder)"
    )


class TensorIndexOut(BaseModel):
    artifact_id: str
    parameter_count: int
    tensors: list[TensorOut]
    metadata: dict[str, str]


class AliasSet(BaseModel):
    version: int | None = Field(default=None, ge=1, le=MAX_DB_INT)
    artifact: str | None = Field(default=None, max_length=MAX_REF_CHARS)

    @model_validator(mode="after")
    def _exactly_one(self) -> AliasSet:
        if (self.version is None) == (self.artifact is None):
            raise ValueError("give exactly one of version or artifact")
        return self


class AliasOut(BaseModel):
    model: str
    alias: str
    artifact_id: str
    version: int


class MetadataPatch(BaseModel):
    metadata: dict[str, Any] = Field(description="keys to merge into the user metadata (null removes a key)")
