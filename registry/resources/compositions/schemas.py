from __future__ import annotations

import math
from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from registry.field_limits import MAX_REF_CHARS


class PatchIn(BaseModel):
    artifact: str = Field(max_length=MAX_REF_CHARS, description="an rws artifact: id or 'ns/name@ref'")
    scale: float = Field(
        default=1.0, strict=True, description="a finite JSON number (not a boolean); negative and fractional work"
    )

    @field_validator("scale")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("scale must be a finite number")
        return value


class CompositionCreate(BaseModel):
    base: str = Field(max_length=MAX_REF_CHARS, description="the base artifact: id or 'ns/name@ref'")
    patches: list[PatchIn] = Field(default_factory=list, max_length=64)


class PatchOut(BaseModel):
    artifact: str
    scale: float


class CompositionOut(BaseModel):
    id: str = Field(description="the recipe hash; also the file's ETag")
    base: str
    patches: list[PatchOut]
    size: int
    sha256: str | None = Field(description="known once the output has been computed and cached")
    cached: bool
    created_at: datetime


class ComposedFileOut(BaseModel):
    path: str
    size: int
    kind: str = Field(description="safetensors or other")
    sha256: str | None = Field(
        description="the base file's for files no patch changes; for a composed file once cached"
    )
    composed: bool = Field(description="true for the files the patches change")
