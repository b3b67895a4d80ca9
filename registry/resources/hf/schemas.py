"""The JSON of the Hugging Face Hub API, field for field as huggingface_hub reads it (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class SiblingLfs(BaseModel):
    sha256: str
    size: int
    pointerSize: int


class Sibling(BaseModel):
    rfilename: str
    size: int
    blobId: str
    lfs: SiblingLfs | None = Field(description="absent for composed bytes not computed yet (their sha256 is unknown)")


class SafetensorsInfo(BaseModel):
    parameters: dict[str, int] = Field(description="parameter count by dtype")
    total: int


class ModelInfo(BaseModel):
    id: str
    modelId: str
    author: str
    sha: str = Field(description="the revision sha: 40 hex, stable for a version or a composition")
    lastModified: datetime
    createdAt: datetime
    private: bool
    disabled: bool
    gated: bool
    tags: list[str]
    library_name: str | None
    pipeline_tag: str | None
    cardData: dict[str, Any] | None
    siblings: list[Sibling]
    safetensors: SafetensorsInfo | None


class TreeLfs(BaseModel):
    oid: str
    size: int
    pointerSize: int


class TreeEntry(BaseModel):
    type: Literal["file", "directory"]
    path: str
    oid: str
    size: int
    lfs: TreeLfs | None = None


class GitRef(BaseModel):
    name: str
    ref: str
    targetCommit: str


class GitRefs(BaseModel):
    """main is the branch of the latest version; each alias is a tag on its version."""

    branches: list[GitRef]
    converts: list[GitRef]
    tags: list[GitRef]
    pullRequests: list[GitRef]


class CommitAuthor(BaseModel):
    user: str


class Commit(BaseModel):
    id: str
    authors: list[CommitAuthor]
    date: datetime
    title: str
    message: str


class AccessToken(BaseModel):
    displayName: str
    role: Literal["read", "write"]


class WhoamiAuth(BaseModel):
    type: Literal["access_token"] = "access_token"
    accessToken: AccessToken


class WhoamiOrg(BaseModel):
    name: str


class Whoami(BaseModel):
    """``hf auth login`` and ``whoami()``: the token as a user, its namespace as the one organization."""

    type: Literal["user"] = "user"
    name: str
    fullname: str
    orgs: list[WhoamiOrg]
    auth: WhoamiAuth
