from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from registry.field_limits import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS
from registry.models import Role


class NamespaceCreate(BaseModel):
    name: str = Field(max_length=MAX_NAME_CHARS, description="1-64 letters, digits, '.', '_' or '-'")
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)


class NamespaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    description: str
    created_at: datetime


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    role: Role
    namespace: str | None = Field(
        default=None, max_length=MAX_NAME_CHARS, description="None: a token for every namespace (admin only)"
    )


class TokenOut(BaseModel):
    id: int
    name: str
    role: Role
    namespace: str | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="the secret; shown only once")


class WhoAmI(BaseModel):
    token_name: str
    role: Role
    namespace: str | None
