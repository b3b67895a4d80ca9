"""Typed objects the SDK returns, built from the service's JSON (unknown keys are ignored)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Namespace:
    name: str
    description: str
    created_at: datetime | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Namespace:
        return cls(data["name"], data.get("description", ""), _time(data.get("created_at")))


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    role: str  # read, write or admin
    namespace: str | None  # None: the token acts on every namespace
    prefix: str  # the first characters of the secret, to recognise it
    created_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Token:
        return cls(
            id=data["id"],
            name=data["name"],
            role=data["role"],
            namespace=data.get("namespace"),
            prefix=data.get("prefix", ""),
            created_at=_time(data.get("created_at")),
            revoked_at=_time(data.get("revoked_at")),
        )


@dataclass(frozen=True)
class CreatedToken:
    token: Token
    secret: str = field(repr=False)  # shown once by the service; store it somewhere safe

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CreatedToken:
        return cls(Token.from_json(data), data["token"])


@dataclass(frozen=True)
class WhoAmI:
    token_name: str
    role: str
    namespace: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WhoAmI:
        return cls(data["token_name"], data["role"], data.get("namespace"))


@dataclass(frozen=True)
class Model:
    id: str  # "namespace/name"
    namespace: str
    name: str
    arch: str
    arch_config: dict[str, Any]
    description: str
    tags: list[str]
    created_at: datetime | None
    latest_version: int | None
    aliases: dict[str, int]  # alias -> version

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        return cls(
            id=data["id"],
            namespace=data["namespace"],
            name=data["name"],
            arch=data["arch"],
            arch_config=data.get("arch_config", {}),
            description=data.get("description", ""),
            tags=list(data.get("tags", [])),
            created_at=_time(data.get("created_at")),
            latest_version=data.get("latest_version"),
            aliases=dict(data.get("aliases", {})),
        )


@dataclass(frozen=True)
class ArtifactRef:
    """A short pointer to an artifact, as used in lineage."""

    id: str
    model: str  # "namespace/name"
    version: int
    kind: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArtifactRef:
        return cls(data["id"], data["model"], data["version"], data["kind"])


@dataclass(frozen=True)
class Artifact:
    id: str
    model: str  # "namespace/name"
    version: int
    kind: str  # base, rws, pruned, checkpoint or dataset
    sha256: str
    size: int  # bytes
    parameter_count: int
    tensor_count: int
    file_metadata: dict[str, str]  # the safetensors __metadata__ map
    metadata: dict[str, Any]  # user metadata: metrics, corruption, bits ...
    parents: list[ArtifactRef]  # lineage: what this artifact was made from
    job_id: str | None  # lineage: the job that produced it
    aliases: list[str]
    created_at: datetime | None
    # Files in the version: 1, or a model folder's (read them at /v1/artifacts/{id}/files, or with
    # huggingface_hub's snapshot_download, docs/huggingface.md).
    file_count: int = 1
    # Set by ``artifacts.upload`` only: the bytes were already the model's latest version, which is returned
    # as it is (nothing was uploaded, ``latest`` did not move).
    unchanged: bool = False

    @property
    def ref(self) -> str:
        """``namespace/name@v<version>``: a reference that always means these bytes."""
        return f"{self.model}@v{self.version}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Artifact:
        return cls(
            id=data["id"],
            model=data["model"],
            version=data["version"],
            kind=data["kind"],
            sha256=data["sha256"],
            size=data["size"],
            parameter_count=data.get("parameter_count", 0),
            tensor_count=data.get("tensor_count", 0),
            file_metadata=dict(data.get("file_metadata", {})),
            metadata=dict(data.get("metadata", {})),
            parents=[ArtifactRef.from_json(p) for p in data.get("parents", [])],
            job_id=data.get("job_id"),
            aliases=list(data.get("aliases", [])),
            created_at=_time(data.get("created_at")),
            file_count=data.get("file_count", 1),
        )


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # safetensors dtype: F32, BF16, I64 ...
    shape: tuple[int, ...]
    numel: int
    file: str = "model.safetensors"  # the file of the version holding it (a shard of a model folder)


@dataclass(frozen=True)
class TensorIndex:
    """What an artifact holds, read from its header on the service: no download needed."""

    artifact_id: str
    parameter_count: int
    tensors: list[TensorSpec]
    metadata: dict[str, str]

    def __getitem__(self, name: str) -> TensorSpec:
        for spec in self.tensors:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TensorIndex:
        return cls(
            artifact_id=data["artifact_id"],
            parameter_count=data["parameter_count"],
            tensors=[
                TensorSpec(t["name"], t["dtype"], tuple(t["shape"]), t["numel"], t.get("file", "model.safetensors"))
                for t in data["tensors"]
            ],
            metadata=dict(data.get("metadata", {})),
        )


@dataclass(frozen=True)
class Alias:
    model: str
    alias: str
    artifact_id: str
    version: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alias:
        return cls(data["model"], data["alias"], data["artifact_id"], data["version"])


@dataclass(frozen=True)
class UploadPart:
    number: int  # 1-based
    size: int
    sha256: str | None  # checked by the service as the part arrived; None for direct uploads
    etag: str | None = None  # direct uploads: the object store's ETag (a part's quoted MD5 on S3)


@dataclass(frozen=True)
class Upload:
    """A resumable upload session: the parts the service holds so far."""

    id: str
    model: str
    kind: str
    created_at: datetime | None
    expires_at: datetime | None
    parts: list[UploadPart]
    artifact_id: str | None  # set once complete
    transfer: str = "streamed"  # "direct": parts go to presigned URLs of the object store, not the service

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Upload:
        return cls(
            id=data["id"],
            model=data["model"],
            kind=data["kind"],
            created_at=_time(data.get("created_at")),
            expires_at=_time(data.get("expires_at")),
            parts=[UploadPart(p["number"], p["size"], p.get("sha256"), p.get("etag")) for p in data.get("parts", [])],
            artifact_id=data.get("artifact_id"),
            transfer=data.get("transfer", "streamed"),
        )


TERMINAL_JOB_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class Job:
    """A unit of queued work (training, evaluation ...): its service-side record as of when it was read."""

    id: str
    kind: str  # a registered job kind: train, evaluate ... (client.jobs.kinds() lists them)
    namespace: str
    params: dict[str, Any]  # validated params; artifact references already resolved to ids
    queue: str  # cpu or gpu
    status: str  # queued, running, succeeded, failed or cancelled
    progress: float  # 0.0 .. 1.0, reported by the worker
    message: str  # the worker's latest one-line status
    result: dict[str, Any]  # the job's result JSON once it succeeded (metrics ...)
    error: str | None  # why it failed
    attempts: int  # how many times a worker started it (a killed worker's job is redelivered)
    worker: str | None
    cancel_requested: bool
    outputs: list[str]  # ids of the artifacts the job registered
    created_by: str  # name of the token that submitted it
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def done(self) -> bool:
        """True once the job succeeded, failed or was cancelled: it will not change any more."""
        return self.status in TERMINAL_JOB_STATUSES

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        return cls(
            id=data["id"],
            kind=data["kind"],
            namespace=data["namespace"],
            params=dict(data.get("params", {})),
            queue=data.get("queue", ""),
            status=data["status"],
            progress=float(data.get("progress", 0.0)),
            message=data.get("message", ""),
            result=dict(data.get("result") or {}),
            error=data.get("error"),
            attempts=data.get("attempts", 0),
            worker=data.get("worker"),
            cancel_requested=bool(data.get("cancel_requested", False)),
            outputs=list(data.get("outputs", [])),
            created_by=data.get("created_by", ""),
            created_at=_time(data.get("created_at")),
            started_at=_time(data.get("started_at")),
            finished_at=_time(data.get("finished_at")),
        )


@dataclass(frozen=True)
class LogLine:
    id: int  # increasing; pass the last one as ``after`` to read only newer lines
    attempt: int  # which run of the job wrote it
    created_at: datetime | None
    line: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogLine:
        return cls(data["id"], data.get("attempt", 0), _time(data.get("created_at")), data["line"])


@dataclass(frozen=True)
class JobEvent:
    """One server-sent event of a job: ``progress`` (the job changed), ``log`` (a new line) or ``end``."""

    type: str  # progress, log or end
    job: Job | None = None  # progress: the job as it is now
    line: LogLine | None = None  # log: the new line
    status: str | None = None  # end: the terminal status


@dataclass(frozen=True)
class JobKind:
    name: str
    description: str
    params_schema: dict[str, Any]  # JSON schema of the kind's params

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobKind:
        return cls(data["name"], data.get("description", ""), dict(data.get("params_schema", {})))
