"""Direct uploads on S3: parts go to presigned URLs (never through the API); completing checks the joined
bytes (sha256, size, safetensors header) before anything is visible, and bytes that fail leave nothing."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import httpx
import numpy as np
import pytest
from safetensors.numpy import save

from registry.blobs import S3BlobStore
from registry.storage.keys import blob_key
from tests.fixtures.s3_direct import direct_server, origin  # noqa: F401
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess, make_namespace
from tests.fixtures.sigv4 import presigned_url_problem
from tests.registry.artifact_helpers import create_model, sha256

MiB = 1024 * 1024


def _big_model(seed: int, mib: int = 12) -> bytes:
    """A valid safetensors file of about ``mib`` MiB: three 5 MiB parts or so."""
    rng = np.random.default_rng(seed)
    return save({"weight": rng.standard_normal(mib * MiB // 4).astype(np.float32)}, metadata={"seed": str(seed)})


def _start(client: httpx.Client, team: str, transfer: str = "direct") -> dict:
    response = client.post(f"/v1/models/{team}/net/uploads", json={"kind": "base", "transfer": transfer})
    assert response.status_code == 201, response.text
    return response.json()


def _send_parts(client: httpx.Client, upload_id: str, data: bytes, part_size: int = 5 * MiB) -> list[str]:
    """PUT each part to its presigned URL with a client that holds no token; returns the URLs used."""
    urls = []
    with httpx.Client(timeout=60) as store:
        for number, start in enumerate(range(0, len(data), part_size), start=1):
            target = client.get(f"/v1/uploads/{upload_id}/parts/{number}/url")
            assert target.status_code == 200, target.text
            assert target.json()["method"] == "PUT"
            sent = store.put(target.json()["url"], content=data[start : start + part_size])
            assert sent.status_code == 200, sent.text
            urls.append(target.json()["url"])
    return urls


def _staged_keys(server: LiveServer) -> list[str]:
    store = server.runtime.store
    assert isinstance(store, S3BlobStore)
    objects = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.staging_prefix).get("Contents", [])
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.staging_prefix).get("Uploads", [])
    return [o["Key"] for o in objects] + [u["Key"] for u in uploads]


def _team(server: LiveServer) -> NamespaceAccess:
    team = make_namespace(server, "direct-up")
    with server.client(team.write_token) as client:
        create_model(client, team.name)
    return team


def test_parts_go_to_the_bucket_and_the_file_is_verified_before_it_is_a_version(
    direct_server: LiveServer,  # noqa: F811
) -> None:
    data = _big_model(seed=901)
    team = _team(direct_server)
    s3_origin = origin(direct_server.runtime.settings.s3_endpoint_url or "")
    with direct_server.client(team.write_token) as client:
        upload = _start(client, team.name)
        assert upload["transfer"] == "direct"
        urls = _send_parts(client, upload["id"], data)
        assert {origin(url) for url in urls} == {s3_origin}
        listed = client.get(f"/v1/uploads/{upload['id']}").json()["parts"]
        assert [(p["number"], p["size"]) for p in listed] == [(1, 5 * MiB), (2, 5 * MiB), (3, len(data) - 10 * MiB)]
        assert all(p["etag"] and p["sha256"] is None for p in listed)
        # The API takes no part bytes for a direct upload.
        refused = client.put(f"/v1/uploads/{upload['id']}/parts/1", content=b"x" * 10)
        assert refused.status_code == 409 and "direct" in refused.json()["detail"]
        assert client.get(f"/v1/models/{team.name}/net/artifacts").json()["items"] == []  # nothing yet

        done = client.post(f"/v1/uploads/{upload['id']}/complete", json={"sha256": sha256(data)})
        assert done.status_code == 201, done.text
        assert (done.json()["sha256"], done.json()["size"], done.json()["version"]) == (sha256(data), len(data), 1)
        assert client.get(f"/v1/artifacts/{done.json()['id']}/file", follow_redirects=True).content == data
        assert client.get(f"/v1/uploads/{upload['id']}").json()["artifact_id"] == done.json()["id"]
        again = client.post(f"/v1/uploads/{upload['id']}/complete", json={"sha256": sha256(data)})
        assert again.status_code == 409

        # The same bytes once more: stored once, a second version.
        second = _start(client, team.name)
        _send_parts(client, second["id"], data)
        dup = client.post(f"/v1/uploads/{second['id']}/complete", json={"sha256": sha256(data)})
        assert dup.status_code == 201 and dup.json()["version"] == 2
    assert not [key for key in _staged_keys(direct_server) if upload["id"] in key]
    assert direct_server.runtime.store.exists(blob_key(sha256(data)))


def test_bytes_that_fail_a_check_leave_nothing_visible(direct_server: LiveServer) -> None:  # noqa: F811
    good = _big_model(seed=902)
    header_length = int.from_bytes(good[:8], "little")
    cases = {
        "wrong sha256": (good, sha256(tiny_model_bytes(seed=1)), "sha256"),
        "truncated": (good[: 11 * MiB], None, "safetensors"),
        "not safetensors": (os.urandom(6 * MiB), None, "safetensors"),
        "bad header": (good[:8] + b"[" + good[9 : 8 + header_length] + good[8 + header_length :], None, "safetensors"),
    }
    team = _team(direct_server)
    before = set(_staged_keys(direct_server))
    with direct_server.client(team.write_token) as client:
        for case, (data, claimed, word) in cases.items():
            upload = _start(client, team.name)
            _send_parts(client, upload["id"], data)
            done = client.post(f"/v1/uploads/{upload['id']}/complete", json={"sha256": claimed})
            assert done.status_code == 422, (case, done.text)
            assert word in done.json()["detail"], (case, done.json())
            assert not direct_server.runtime.store.exists(blob_key(sha256(data))), case
            assert client.post(f"/v1/uploads/{upload['id']}/complete", json={}).status_code == 409, case
            assert client.get(f"/v1/uploads/{upload['id']}").status_code == 404, case  # so the SDK starts anew
        assert client.get(f"/v1/models/{team.name}/net/artifacts").json()["items"] == []
    assert set(_staged_keys(direct_server)) <= before  # no staged bytes left behind either


def test_parts_below_five_mib_are_refused_and_part_urls_are_signed_for_one_part(
    direct_server: LiveServer,  # noqa: F811
) -> None:
    data = tiny_model_bytes(seed=903, layers=4, width=512)  # about 4 MiB: two 2 MiB parts
    team = _team(direct_server)
    with direct_server.client(team.write_token) as client:
        upload = _start(client, team.name)
        _send_parts(client, upload["id"], data, part_size=2 * MiB)
        small = client.post(f"/v1/uploads/{upload['id']}/complete", json={"sha256": sha256(data)})
        assert small.status_code == 422 and "5 MiB" in small.json()["detail"]
        url = client.get(f"/v1/uploads/{upload['id']}/parts/2/url").json()["url"]
        outsider = make_namespace(direct_server, "outsider")
        with direct_server.client(outsider.write_token) as other:
            assert other.get(f"/v1/uploads/{upload['id']}/parts/2/url").status_code == 404
    now = datetime.now(timezone.utc)
    assert presigned_url_problem(url, "PUT", "testing", "testing", now) is None
    assert presigned_url_problem(url.replace("partNumber=2", "partNumber=3"), "PUT", "testing", "testing", now)
    assert presigned_url_problem(url, "GET", "testing", "testing", now)  # it cannot read anything back


def test_without_redirects_a_direct_request_gets_a_streamed_upload(live_server: LiveServer) -> None:
    data = tiny_model_bytes(seed=904)
    team = _team(live_server)
    with live_server.client(team.write_token) as client:
        upload = _start(client, team.name)
        assert upload["transfer"] == "streamed"
        assert client.get(f"/v1/uploads/{upload['id']}/parts/1/url").status_code == 409
        assert client.put(f"/v1/uploads/{upload['id']}/parts/1", content=data).status_code == 200
        done = client.post(f"/v1/uploads/{upload['id']}/complete", json={"sha256": sha256(data)})
        assert done.status_code == 201 and done.json()["sha256"] == sha256(data)


def test_a_direct_upload_over_the_size_limit_is_refused_and_dropped(
    direct_server: LiveServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _big_model(seed=905)
    team = _team(direct_server)
    monkeypatch.setattr(direct_server.runtime.settings, "max_upload_bytes", 10 * MiB)
    with direct_server.client(team.write_token) as client:
        upload = _start(client, team.name)
        _send_parts(client, upload["id"], data)
        refused = client.post(f"/v1/uploads/{upload['id']}/complete", json={"sha256": sha256(data)})
        assert refused.status_code == 413 and str(10 * MiB) in refused.json()["detail"]
        assert client.get(f"/v1/uploads/{upload['id']}").status_code == 404  # its parts are gone from the bucket
        assert client.get(f"/v1/models/{team.name}/net/artifacts").json()["items"] == []
    assert not direct_server.runtime.store.exists(blob_key(sha256(data)))
