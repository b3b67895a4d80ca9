"""Artifacts record who made them: the uploading token's name, shown by the API and its lists."""

from __future__ import annotations

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, upload


def test_uploads_record_the_token_that_made_them(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client() as admin:
        token = admin.post("/v1/tokens", json={"name": "ci-uploader", "role": "write", "namespace": namespace.name})
        secret = token.json()["token"]
    with live_server.client(secret) as client:
        create_model(client, namespace.name)
        created = upload(client, namespace.name, tiny_model_bytes())
        assert created.status_code == 201 and created.json()["created_by"] == "ci-uploader"
    with live_server.client(namespace.read_token) as reader:
        listed = reader.get(f"/v1/models/{namespace.name}/net/artifacts").json()["items"]
        assert [a["created_by"] for a in listed] == ["ci-uploader"]
