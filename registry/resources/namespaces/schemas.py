from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from registry.models import Role


class NamespaceCreate(BaseModel):
    name: str = Field(description="1-64 letters, digits, '.', '_' or '-'")
    description: str = ""


class NamespaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    description: str
    created_at: datetime


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    role: Role
    namespace: str | None = Field(default=None, description="None: a token for every namespace (admin only)")


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
