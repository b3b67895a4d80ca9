from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ModelCreate(BaseModel):
    namespace: str
    name: str
    arch: str = Field(min_length=1, max_length=128, description="architecture name from the model zoo")
    arch_config: dict[str, Any] = Field(default_factory=dict, description="the architecture's config JSON")
    description: str = Field(default="", max_length=4096)
    tags: list[str] = Field(default_factory=list, max_length=64)


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
