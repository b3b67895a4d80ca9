"""A single-request upload: the body streams into the blob store with no transaction open, then the verified
bytes become the model's next version in a fresh one (which the request commits)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from registry.auth.principal import Principal
from registry.db.session import end_read_phase
from registry.domain.artifacts import register_artifact
from registry.models import Artifact, Model
from registry.models.artifact import ArtifactKind
from registry.resources.artifacts.content import check_content
from registry.runtime import Runtime
from registry.storage.ingest import Ingest
from registry.storage.keys import blob_key
from registry.storage.streaming import ingest_request_body


async def receive_artifact(
    request: Request,
    runtime: Runtime,
    session: Session,
    principal: Principal,
    model: Model,
    *,
    kind: ArtifactKind,
    meta: dict[str, Any],
    parents: list[Artifact],
    sha256: str | None,
) -> Artifact:
    # A slow upload then holds no pooled connection and no lock (SQLite's write lock, a token row's lock).
    await run_in_threadpool(end_read_phase, session)
    ingest = await run_in_threadpool(
        Ingest,
        runtime.store,
        runtime.header_limits,
        expected_sha256=sha256,
        max_bytes=runtime.settings.max_upload_bytes,
    )
    stored = await ingest_request_body(request, ingest)

    def register() -> Artifact:
        check_content(kind, stored.header, lambda: runtime.store.read(blob_key(stored.sha256), 0, stored.size))
        return register_artifact(
            session, model, stored, kind=kind, meta=meta, parents=parents, created_by=principal.token_name
        )

    return await run_in_threadpool(register)
