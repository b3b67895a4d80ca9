from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from registry.field_limits import MAX_JOB_PARAMS_BYTES, MAX_NAME_CHARS
from registry.json_limits import check_json_field
from registry.models.job import JobStatus


class JobCreate(BaseModel):
    kind: str = Field(max_length=64, description="a registered job kind: GET /v1/job-kinds lists them")
    namespace: str = Field(
        max_length=MAX_NAME_CHARS, description="the namespace the job runs for (its outputs' models live there)"
    )
    params: dict[str, Any] = Field(default_factory=dict, description=f"at most {MAX_JOB_PARAMS_BYTES} bytes of JSON")

    @field_validator("params")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_json_field(value, "params", MAX_JOB_PARAMS_BYTES)


class JobOut(BaseModel):
    id: str
    kind: str
    namespace: str
    params: dict[str, Any]
    queue: str
    status: JobStatus
    progress: float
    message: str
    result: dict[str, Any]
    error: str | None
    attempts: int
    worker: str | None
    cancel_requested: bool
    outputs: list[str] = Field(description="ids of the artifacts this job registered")
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(BaseModel):
    items: list[JobOut]
    next_page_token: str | None


class LogLine(BaseModel):
    id: int
    attempt: int
    created_at: datetime
    line: str


class JobKindOut(BaseModel):
    name: str
    description: str
    params_schema: dict[str, Any]
