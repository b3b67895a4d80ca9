from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from registry.field_limits import MAX_ARCH_CONFIG_BYTES, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS
from registry.json_limits import check_json_field


class ModelCreate(BaseModel):
    namespace: str = Field(max_length=MAX_NAME_CHARS)
    name: str = Field(max_length=MAX_NAME_CHARS)
    arch: str = Field(min_length=1, max_length=128, description="architecture name from the model zoo")
    arch_config: dict[str, Any] = Field(
        default_factory=dict, description=f"the architecture's config JSON, at most {MAX_ARCH_CONFIG_BYTES} bytes"
    )
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    tags: list[str] = Field(default_factory=list, max_length=64)

    @field_validator("arch_config")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_json_field(value, "arch_config", MAX_ARCH_CONFIG_BYTES)


class ModelOut(BaseModel):
    id: str = Field(description="namespace/name")
    namespace: str
    name: str
    arch: str
    arch_config: dict[str, Any]
    description: str
    tags: list[str]
    created_at: datetime
    latest_version: int | None
    aliases: dict[str, int] = Field(description="alias -> version")


class ModelPage(BaseModel):
    items: list[ModelOut]
    next_page_token: str | None
