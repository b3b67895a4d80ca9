"""What a running job sees: its params, progress and log reporting, cancellation, inputs and outputs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from registry.db.session import transaction
from registry.domain.artifacts import get_artifact
from registry.jobs.lifecycle import Claim, append_log, renew_lease, report_progress
from registry.models import Artifact, Model, Namespace
from registry.models.artifact import ArtifactKind
from registry.runtime import Runtime
from registry.storage.ingest import Ingest, StoredBlob
from registry.storage.keys import blob_key

PROGRESS_WRITE_INTERVAL = 0.5  # seconds between progress writes (the last one always lands)


class JobCancelled(Exception):
    """The job was cancelled; it stops and registers nothing."""


class LeaseLost(Exception):
    """Another worker owns this job now (our lease expired); stop without touching it."""


@dataclass(frozen=True)
class InputArtifact:
    id: str
    model: str  # namespace/name
    arch: str  # the model's architecture
    arch_config: dict[str, Any]
    kind: ArtifactKind
    file_metadata: dict[str, str]
    meta: dict[str, Any]
    data: bytes


@dataclass
class PendingOutput:
    name: str  # unique within the job
    model: str  # namespace/name it is registered under
    kind: ArtifactKind
    blob: StoredBlob
    metadata: dict[str, Any]
    parents: list[str]


@dataclass
class JobContext:
    runtime: Runtime
    claim: Claim
    lease: timedelta
    outputs: list[PendingOutput] = field(default_factory=list)
    _cancelled: bool = False
    _lost: bool = False
    _last_write: float = 0.0

    @property
    def params(self) -> dict[str, Any]:
        return self.claim.params

    @property
    def job_id(self) -> str:
        return self.claim.job_id

    def progress(self, fraction: float, message: str) -> None:
        """Report progress; raises JobCancelled or LeaseLost at this progress point if the job must stop."""
        now = time.monotonic()
        if now - self._last_write >= PROGRESS_WRITE_INTERVAL or fraction >= 1.0:
            self._last_write = now
            with transaction(self.runtime.session_factory) as session:
                owned, cancel = report_progress(session, self.claim, fraction, message)
            self._lost |= not owned
            self._cancelled |= cancel
        self.raise_if_stopping()

    def should_stop(self) -> bool:
        return self._cancelled or self._lost

    def raise_if_stopping(self) -> None:
        if self._lost:
            raise LeaseLost(self.job_id)
        if self._cancelled:
            raise JobCancelled(self.job_id)

    def log(self, line: str) -> None:
        with transaction(self.runtime.session_factory) as session:
            append_log(session, self.claim, line)

    def read_artifact(self, artifact_id: str) -> InputArtifact:
        with transaction(self.runtime.session_factory) as session:
            namespace, model, artifact = get_artifact(session, artifact_id)
            info = _describe(namespace, model, artifact)
        data = self.runtime.store.read(blob_key(info["sha256"]), 0, info["size"])
        return InputArtifact(data=data, **{k: v for k, v in info.items() if k not in ("sha256", "size")})

    def add_output(
        self,
        name: str,
        model: str,
        kind: ArtifactKind,
        data: bytes,
        metadata: dict[str, Any],
        parents: list[str],
    ) -> None:
        """Store the bytes now (content-addressed, so a retry stores nothing twice); the artifact is
        registered when the job succeeds, in the same transaction that marks it done."""
        ingest = Ingest(
            self.runtime.store,
            self.runtime.header_limits,
            max_bytes=self.runtime.settings.max_upload_bytes,
        )
        ingest.write(data)
        self.outputs.append(PendingOutput(name, model, kind, ingest.finish(), metadata, parents))


def _describe(namespace: Namespace, model: Model, artifact: Artifact) -> dict[str, Any]:
    return {
        "id": artifact.id,
        "model": f"{namespace.name}/{model.name}",
        "arch": model.arch,
        "arch_config": dict(model.arch_config),
        "kind": artifact.kind,
        "file_metadata": dict(artifact.file_metadata),
        "meta": dict(artifact.meta),
        "sha256": artifact.sha256,
        "size": artifact.size,
    }


class LeaseKeeper:
    """Renews the job's lease every third of its length while the job runs, on a daemon thread."""

    def __init__(self, context: JobContext) -> None:
        self._context = context
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{context.job_id[:8]}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        context = self._context
        interval = context.lease.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                with transaction(context.runtime.session_factory) as session:
                    if not renew_lease(session, context.claim, context.lease):
                        context._lost = True
                        return
            except Exception:  # a database hiccup: try again at the next tick, the lease has slack
                continue
