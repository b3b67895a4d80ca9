"""What a running job sees: progress and log reporting, cancellation, its input artifacts and its outputs.

A handler may report progress as often as it likes (the training loops do so every batch): the row is written,
and a cancel request read back, at most every ``PROGRESS_WRITE_INTERVAL`` seconds, and the last report (1.0)
always lands.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from registry.db.session import transaction
from registry.domain.job_artifacts import ArtifactRecord, artifact_record
from registry.jobs.lifecycle import Claim, append_log, poll_claim, renew_lease, report_progress
from registry.models.artifact import ArtifactKind
from registry.runtime import Runtime
from registry.storage.ingest import Ingest, StoredBlob
from registry.storage.keys import blob_key

PROGRESS_WRITE_INTERVAL = 0.5  # seconds between progress writes (and cancel reads); the last one always lands

__all__ = ["ArtifactKind", "InputArtifact", "JobCancelled", "JobContext", "LeaseKeeper", "LeaseLost"]


class JobCancelled(Exception):
    """The job was cancelled; it stops and registers nothing."""


class LeaseLost(Exception):
    """Another worker owns this job now (our lease expired); stop without touching it."""


@dataclass(frozen=True)
class InputArtifact(ArtifactRecord):
    data: bytes  # the file


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
    _pending: tuple[float, str] | None = None  # the latest progress not written yet
    _last_sync: float = float("-inf")  # time.monotonic() of the last write or cancel read

    @property
    def job_id(self) -> str:
        return self.claim.job_id

    def progress(self, fraction: float, message: str) -> None:
        """Report progress (as often as every batch); raises JobCancelled or LeaseLost if the job must stop."""
        self._pending = (fraction, message)
        self._sync(force=fraction >= 1.0)
        self.raise_if_stopping()

    def should_stop(self) -> bool:
        """Whether the job must stop (cancelled, or its lease lost); cheap enough to ask before every batch."""
        self._sync()
        return self._cancelled or self._lost

    def _sync(self, *, force: bool = False) -> None:
        """Write the pending progress, or just read the cancel flag, at most every PROGRESS_WRITE_INTERVAL."""
        now = time.monotonic()
        if self._cancelled or self._lost or (not force and now - self._last_sync < PROGRESS_WRITE_INTERVAL):
            return
        self._last_sync = now
        pending, self._pending = self._pending, None
        with transaction(self.runtime.session_factory) as session:
            if pending is not None:
                owned, cancel = report_progress(session, self.claim, *pending)
            else:
                owned, cancel = poll_claim(session, self.claim)
        self._lost |= not owned
        self._cancelled |= cancel

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
            record = artifact_record(session, artifact_id)
        data = self.runtime.store.read(blob_key(record.sha256), 0, record.size)
        return InputArtifact(**vars(record), data=data)

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
