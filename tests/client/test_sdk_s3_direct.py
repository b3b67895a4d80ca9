"""The SDK against a service on S3 with presigned transfers: downloads follow the redirect to the bucket
(without the token), resume there with Range, and compositions once cached come from the bucket too."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from safetensors.numpy import save_file

from patchhub import APIConnectionError, Client
from patchhub.download import file_sha256
from patchhub.resources.uploads import Uploads
from patchhub.signature import quantize_signature
from registry.blobs import S3BlobStore
from tests.client.conftest import RecordingTransport
from tests.fixtures.s3_direct import direct_server, origin  # noqa: F401
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess, make_namespace


@pytest.fixture
def team(
    direct_server: LiveServer,  # noqa: F811
) -> NamespaceAccess:
    return make_namespace(direct_server, "sdk-direct")


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        client.close()


def _client(server: LiveServer, token: str, cache: Path, made: list[Client], **options: object) -> Client:
    client = Client(base_url=server.url, token=token, progress=False, cache_dir=cache, **options)  # type: ignore[arg-type]
    made.append(client)
    return client


def _big_model(tmp_path: Path, seed: int) -> Path:
    """A 12 MiB safetensors file: three 5 MiB parts at ``PARTS``' part size."""
    source = tmp_path / "big.safetensors"
    rng = np.random.default_rng(seed)
    save_file({"weight": rng.standard_normal(3 * 1024 * 1024).astype(np.float32)}, str(source))
    return source


def _losing_part_2(s3_origin: str) -> Callable[[httpx.Request], Exception | None]:
    """A transport failure for part 2's PUT to the bucket, as a connection reset there would give."""

    def lose_part_2(request: httpx.Request) -> Exception | None:
        lost = origin(str(request.url)) == s3_origin and request.url.params.get("partNumber") == "2"
        return httpx.ConnectError("connection reset", request=request) if lost else None

    return lose_part_2


PARTS = {"multipart_threshold": 1, "part_size": 5 * 1024 * 1024}  # every upload multipart, in 5 MiB parts


def test_download_follows_the_redirect_and_resumes_at_the_bucket(
    direct_server: LiveServer,  # noqa: F811
    team: NamespaceAccess,
    clients: list[Client],
    tmp_path: Path,
) -> None:
    data = tiny_model_bytes(seed=801, layers=4, width=64)
    writer = _client(direct_server, team.write_token, tmp_path / "w", clients)
    writer.models.create(f"{team.name}/net", arch="mlp")
    artifact = writer.artifacts.upload(f"{team.name}/net", data)
    s3_origin = origin(direct_server.runtime.settings.s3_endpoint_url or "")
    cuts = [9000]

    def cut_first_bucket_read(request: httpx.Request) -> int | None:
        return cuts.pop() if origin(str(request.url)) == s3_origin and cuts else None

    recorder = RecordingTransport(cut=cut_first_bucket_read)
    reader = _client(
        direct_server, team.read_token, tmp_path / "r", clients, http_client=httpx.Client(transport=recorder)
    )
    path = reader.artifacts.download(artifact.id)
    assert path.read_bytes() == data
    api = [r for r in recorder.requests if r.url.path.endswith("/file")]
    bucket = [r for r in recorder.requests if origin(str(r.url)) == s3_origin]
    assert len(api) == 2 and all(r.headers["Authorization"] == f"Bearer {team.read_token}" for r in api)
    assert len(bucket) == 2 and not any("Authorization" in r.headers for r in bucket)
    assert "Range" not in bucket[0].headers and bucket[1].headers["Range"] == "bytes=9000-"


def test_a_cached_composition_is_downloaded_from_the_bucket(
    direct_server: LiveServer,  # noqa: F811
    team: NamespaceAccess,
    clients: list[Client],
    tmp_path: Path,
) -> None:
    writer = _client(direct_server, team.write_token, tmp_path / "w", clients)
    writer.models.create(f"{team.name}/net", arch="mlp")
    base = writer.artifacts.upload(f"{team.name}/net", tiny_model_bytes(seed=802))
    delta = {"layers.0.weight": np.full((16, 16), 0.01, dtype=np.float32)}
    patch = writer.artifacts.upload(f"{team.name}/net", quantize_signature(delta, bits=8).to_bytes(), kind="rws")
    composition = writer.compositions.create(base.id, [(patch.id, 0.5)])
    first = writer.compositions.download(composition)  # computed on the service, streamed from it

    recorder = RecordingTransport()
    reader = _client(
        direct_server, team.read_token, tmp_path / "r", clients, http_client=httpx.Client(transport=recorder)
    )
    again = reader.compositions.download(composition.id)
    assert again.read_bytes() == first.read_bytes()
    s3_origin = origin(direct_server.runtime.settings.s3_endpoint_url or "")
    assert [r.method for r in recorder.requests if origin(str(r.url)) == s3_origin] == ["GET"]


def test_upload_sends_parts_to_the_bucket_and_resumes_there(
    direct_server: LiveServer,  # noqa: F811
    team: NamespaceAccess,
    clients: list[Client],
    tmp_path: Path,
) -> None:
    source = _big_model(tmp_path, 804)
    data = source.read_bytes()
    options = {**PARTS, "max_retries": 0}
    s3_origin = origin(direct_server.runtime.settings.s3_endpoint_url or "")
    cache = tmp_path / "cache"
    _client(direct_server, team.write_token, cache, clients).models.create(f"{team.name}/net", arch="mlp")

    lose_part_2 = _losing_part_2(s3_origin)
    failing = RecordingTransport(fail=lose_part_2)
    writer = _client(
        direct_server, team.write_token, cache, clients, http_client=httpx.Client(transport=failing), **options
    )
    with pytest.raises(APIConnectionError, match=s3_origin):
        writer.artifacts.upload(f"{team.name}/net", source)

    recorder = RecordingTransport()
    writer = _client(
        direct_server, team.write_token, cache, clients, http_client=httpx.Client(transport=recorder), **options
    )
    artifact = writer.artifacts.upload(f"{team.name}/net", source)
    assert (artifact.version, artifact.size) == (1, len(data))
    to_bucket = [r for r in recorder.requests if origin(str(r.url)) == s3_origin]
    to_api = [r for r in recorder.requests if origin(str(r.url)) != s3_origin]
    # Parts 1 and 3 reached the bucket in the first try (parts in flight finish): only part 2 is sent again.
    assert [r.url.params["partNumber"] for r in to_bucket] == ["2"]
    assert not any("Authorization" in r.headers for r in to_bucket)
    assert sum(len(r.content) for r in to_bucket) == 5 * 1024 * 1024
    assert sum(len(r.content) for r in to_api) < 4096  # JSON only: not one byte of the file
    assert not [r for r in to_api if r.url.path.endswith("/uploads") and r.method == "POST"]  # resumed
    assert writer.artifacts.download(artifact.id, tmp_path / "back.safetensors").read_bytes() == data


def test_an_upload_whose_staged_parts_were_dropped_starts_again(
    direct_server: LiveServer,  # noqa: F811
    team: NamespaceAccess,
    clients: list[Client],
    tmp_path: Path,
) -> None:
    """gc aborts staged uploads left idle past its grace: rerunning the upload then makes a new one."""
    source = _big_model(tmp_path, 805)
    options = {**PARTS, "max_retries": 0}
    s3_origin = origin(direct_server.runtime.settings.s3_endpoint_url or "")
    cache = tmp_path / "cache"
    _client(direct_server, team.write_token, cache, clients).models.create(f"{team.name}/net", arch="mlp")

    lose_part_2 = _losing_part_2(s3_origin)
    failing = _client(
        direct_server,
        team.write_token,
        cache,
        clients,
        http_client=httpx.Client(transport=RecordingTransport(fail=lose_part_2)),
        **options,
    )
    with pytest.raises(APIConnectionError):
        failing.artifacts.upload(f"{team.name}/net", source)
    store = direct_server.runtime.store
    assert isinstance(store, S3BlobStore)
    # gc looks at every multipart upload under the store's prefix (this one is in place at its content address).
    staged = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix).get("Uploads", [])
    assert staged
    for upload in staged:  # what gc does to uploads idle past its grace
        store.client.abort_multipart_upload(Bucket=store.bucket, Key=upload["Key"], UploadId=upload["UploadId"])

    recorder = RecordingTransport()
    writer = _client(
        direct_server, team.write_token, cache, clients, http_client=httpx.Client(transport=recorder), **options
    )
    artifact = writer.artifacts.upload(f"{team.name}/net", source)
    assert artifact.size == source.stat().st_size
    assert len([r for r in recorder.requests if r.method == "POST" and r.url.path.endswith("/uploads")]) == 1
    assert writer.artifacts.download(artifact.id, tmp_path / "back.safetensors").read_bytes() == source.read_bytes()


def test_an_upload_that_loses_the_race_to_its_content_address_starts_again(
    direct_server: LiveServer,  # noqa: F811
    team: NamespaceAccess,
    clients: list[Client],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SDK declares the file's sha256 when it starts, so its parts are joined where the file will stay; when
    another upload of the same bytes gets there first, the service drops its parts (409) and the SDK uploads
    once more, checked against the stored bytes: the user only sees the new version."""
    source = _big_model(tmp_path, 806)
    data = source.read_bytes()
    options = PARTS
    other = _client(direct_server, team.write_token, tmp_path / "other", clients, **options)
    other.models.create(f"{team.name}/net", arch="mlp")
    rival = other.uploads.create(f"{team.name}/net", kind="base", transfer="direct", sha256=file_sha256(source))
    for number, start in enumerate(range(0, len(data), 5 * 1024 * 1024), start=1):
        other.uploads.put_part_direct(rival.id, number, data[start : start + 5 * 1024 * 1024])
    original = Uploads.complete
    completes: list[str] = []

    def rival_first(self: Uploads, upload_id: str, sha256: str | None = None) -> object:
        if not completes:  # the rival joins its parts at the address between our parts and our complete
            original(self, rival.id, sha256)
        completes.append(upload_id)
        return original(self, upload_id, sha256)

    monkeypatch.setattr(Uploads, "complete", rival_first)
    recorder = RecordingTransport()
    writer = _client(
        direct_server,
        team.write_token,
        tmp_path / "w",
        clients,
        http_client=httpx.Client(transport=recorder),
        **options,
    )
    artifact = writer.artifacts.upload(f"{team.name}/net", source, force_new_version=True)
    assert artifact.version == 2 and artifact.sha256 == file_sha256(source)
    created = [r for r in recorder.requests if r.method == "POST" and r.url.path.endswith("/uploads")]
    assert len(created) == 2 and all(json.loads(r.content)["sha256"] == artifact.sha256 for r in created)
    assert len(completes) == 2 and completes[0] != completes[1]
    assert writer.artifacts.download(artifact.id, tmp_path / "back.safetensors").read_bytes() == data
