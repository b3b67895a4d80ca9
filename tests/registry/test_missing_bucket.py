"""A blob store whose bucket is missing: uploads answer 503 naming the bucket (not 500), and work as soon
as the bucket exists."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.blobs import S3Options, create_bucket_if_missing, make_s3_client
from registry.settings import Settings
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, make_namespace, start_live_server
from tests.registry.artifact_helpers import create_model, upload


@pytest.fixture(scope="module")
def bucketless_server(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("no-bucket")),
        blob_url=f"s3://patchhub-missing-{uuid.uuid4().hex[:8]}/registry",
        s3_endpoint_url=s3_endpoint,
        s3_access_key_id="testing",
        s3_secret_access_key="testing",  # type: ignore[arg-type]
        s3_part_size=5 * 1024 * 1024,
    )
    live, server, thread = start_live_server(settings, "missing-bucket")
    yield live
    server.should_exit = True
    thread.join(timeout=10)
    live.runtime.close()


def test_uploads_answer_503_naming_the_missing_bucket_until_it_exists(bucketless_server: LiveServer) -> None:
    settings = bucketless_server.runtime.settings
    bucket = settings.blob_url.removeprefix("s3://").split("/", 1)[0]
    team = make_namespace(bucketless_server, "nobucket")
    small, large = tiny_model_bytes(seed=401), tiny_model_bytes(seed=402, layers=6, width=512)  # large: multipart
    with bucketless_server.client(team.write_token) as client:
        create_model(client, team.name)
        for data in (small, large):
            response = upload(client, team.name, data)
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "unavailable" and bucket in response.json()["detail"]
            assert int(response.headers["Retry-After"]) > 0
        assert client.get(f"/v1/models/{team.name}/net/artifacts").json()["items"] == []
        assert client.get("/healthz").status_code == 200

        create_bucket_if_missing(make_s3_client(S3Options.from_settings(settings)), bucket)
        stored = upload(client, team.name, large)
        assert stored.status_code == 201, stored.text
        assert client.get(f"/v1/artifacts/{stored.json()['id']}/file", follow_redirects=True).content == large
