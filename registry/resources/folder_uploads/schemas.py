from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from registry.models.artifact import ArtifactKind
from registry.storage.folder_files import MAX_FOLDER_FILES, MAX_PATH_CHARS


class FileOut(BaseModel):
    path: str = Field(description="the file's path in the folder ('/'-separated)")
    size: int
    sha256: str
    kind: str = Field(description="safetensors (validated, indexed) or other (stored as bytes)")


class FolderUploadOut(BaseModel):
    id: str
    model: str
    kind: ArtifactKind
    created_at: datetime
    expires_at: datetime
    files: list[FileOut] = Field(description="files stored so far; a client resumes with the others")
    artifact_id: str | None = Field(description="set once the upload is complete")


class FolderFileRef(BaseModel):
    path: str = Field(max_length=MAX_PATH_CHARS)
    sha256: str = Field(max_length=64)


class FolderUploadComplete(BaseModel):
    files: list[FolderFileRef] = Field(
        max_length=MAX_FOLDER_FILES,
        description="every file of the version; must be exactly the files stored, with these sha256s",
    )
