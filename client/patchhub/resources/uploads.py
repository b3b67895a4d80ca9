from __future__ import annotations

import hashlib
from typing import Any

from patchhub.resources._base import Resource, segment
from patchhub.resources.models import model_path
from patchhub.types import Artifact, Upload, UploadPart


class Uploads(Resource):
    """The resumable-upload API, step by step. ``client.artifacts.upload`` drives it for big files."""

    def create(
        self,
        model: str,
        *,
        kind: str,
        metadata: dict[str, Any] | None = None,
        parents: list[str] | None = None,
        transfer: str = "streamed",
        sha256: str | None = None,
    ) -> Upload:
        """``transfer="direct"`` asks for parts to go straight to the object store (``upload.transfer`` says
        whether the service granted it; a local store never does). ``sha256``, the whole file's, is checked
        by ``complete`` and lets the service join a direct upload where it will stay (no copy)."""
        body: dict[str, Any] = {
            "kind": kind,
            "metadata": metadata or {},
            "parents": parents or [],
            "transfer": transfer,
        }
        if sha256 is not None:
            body["sha256"] = sha256
        return Upload.from_json(self._transport.request_json("POST", f"{model_path(model)}/uploads", json=body))

    def get(self, upload_id: str) -> Upload:
        """The upload and the parts the service holds so far."""
        return Upload.from_json(self._transport.request_json("GET", f"/v1/uploads/{segment(upload_id)}"))

    def put_part(self, upload_id: str, number: int, data: bytes) -> UploadPart:
        """Store part ``number`` (1-based); sending a number again replaces that part. Retried safely."""
        digest = hashlib.sha256(data).hexdigest()
        out = self._transport.request_json(
            "PUT",
            f"/v1/uploads/{segment(upload_id)}/parts/{int(number)}",
            params={"sha256": digest},
            body=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return UploadPart(out["number"], out["size"], out["sha256"])

    def put_part_direct(self, upload_id: str, number: int, data: bytes) -> None:
        """Send part ``number`` of a direct upload to the presigned URL the service signs for it (a fresh URL
        on each try); the store, not the service, receives the bytes. Retried safely."""

        def once() -> None:
            target = self._transport.request_json("GET", f"/v1/uploads/{segment(upload_id)}/parts/{int(number)}/url")
            self._transport.send_to_store("PUT", target["url"], data)

        self._transport.with_retries(once)

    def complete(self, upload_id: str, sha256: str | None = None) -> Artifact:
        """Join parts 1..N into the model's next version (checked against ``sha256`` when given)."""
        data = self._transport.request_json(
            "POST", f"/v1/uploads/{segment(upload_id)}/complete", json={"sha256": sha256}, idempotent=False
        )
        return Artifact.from_json(data)

    def abort(self, upload_id: str) -> None:
        self._transport.request("DELETE", f"/v1/uploads/{segment(upload_id)}")
