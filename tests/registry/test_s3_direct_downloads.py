"""On S3, downloads answer 302 to a presigned URL: the bytes go from the bucket to the client, never through
the API, with the same authorization, ETag, Range and 416 answers; a forged or expired URL is refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from tests.fixtures.s3_direct import direct_server, origin  # noqa: F401
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, make_namespace
from tests.fixtures.sigv4 import presigned_url_problem
from tests.registry.artifact_helpers import create_model, sha256, upload


def _stored(server: LiveServer, data: bytes) -> tuple[str, str]:
    """A new namespace holding ``data`` as net v1: (namespace's write token, artifact id)."""
    team = make_namespace(server, "direct")
    with server.client(team.write_token) as client:
        create_model(client, team.name)
        response = upload(client, team.name, data)
        assert response.status_code == 201, response.text
    return team.write_token, response.json()["id"]


def test_downloads_redirect_to_the_bucket_with_range_and_the_api_sends_no_bytes(
    direct_server: LiveServer,  # noqa: F811
) -> None:
    data = tiny_model_bytes(seed=701, layers=4, width=64)
    token, artifact_id = _stored(direct_server, data)
    s3_origin = origin(direct_server.runtime.settings.s3_endpoint_url or "")
    path = f"/v1/artifacts/{artifact_id}/file"
    with direct_server.client(token) as client:
        answer = client.get(path)
        assert answer.status_code == 302 and answer.content == b""  # not one byte of the file from the API
        location = answer.headers["location"]
        assert origin(location) == s3_origin and "X-Amz-Signature=" in location
        assert answer.headers["etag"] == f'"{sha256(data)}"' and answer.headers["x-patchhub-sha256"] == sha256(data)
        assert answer.headers["cache-control"] == "no-store"

        followed = client.get(path, follow_redirects=True)
        assert followed.status_code == 200 and followed.content == data
        assert origin(str(followed.url)) == s3_origin
        assert "authorization" not in followed.request.headers  # httpx drops it leaving the API's origin
        # The URL asks the store to answer with the API's file name (S3 does; moto ignores the parameter).
        assert (
            'filename="net-v1.safetensors"' in dict(parse_qsl(urlsplit(location).query))["response-content-disposition"]
        )

        part = client.get(path, headers={"Range": "bytes=100-199"}, follow_redirects=True)
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
        assert client.get(path, headers={"Range": "bytes=-7"}, follow_redirects=True).content == data[-7:]
        resumed = client.get(
            path, headers={"Range": "bytes=50-", "If-Range": f'"{sha256(data)}"'}, follow_redirects=True
        )
        assert resumed.status_code == 206 and resumed.content == data[50:]

        # Answers that are the API's own stay the API's: 416, 304, and a stale If-Range gets the whole file.
        past = client.get(path, headers={"Range": f"bytes={len(data)}-"})
        assert past.status_code == 416 and past.json()["error"] and "location" not in past.headers
        assert client.get(path, headers={"If-None-Match": f'"{sha256(data)}"'}).status_code == 304
        stale = client.get(path, headers={"Range": "bytes=0-9", "If-Range": '"0000"'})
        assert stale.status_code == 200 and stale.content == data

    # The presigned URL needs no token; authorization was checked before it was signed.
    assert httpx.get(location, timeout=30).content == data
    outsider = make_namespace(direct_server, "outsider")
    with direct_server.client(outsider.read_token) as client:
        refused = client.get(path)
        assert refused.status_code == 404 and "location" not in refused.headers
    with direct_server.client("not-a-token") as client:
        assert client.get(path).status_code == 401


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_the_presigned_url_is_for_one_blob_one_method_and_expires(
    direct_server: LiveServer,  # noqa: F811
) -> None:
    """moto serves presigned URLs without checking them, so S3's check is redone here (tests/fixtures/sigv4.py)."""
    data, other = tiny_model_bytes(seed=702), tiny_model_bytes(seed=703)
    token, artifact_id = _stored(direct_server, data)
    _stored(direct_server, other)
    with direct_server.client(token) as client:
        location = client.get(f"/v1/artifacts/{artifact_id}/file").headers["location"]
    assert httpx.get(location, timeout=30).content == data
    settings = direct_server.runtime.settings
    now = datetime.now(timezone.utc)

    def problem(url: str, method: str = "GET", at: datetime = now) -> str | None:
        return presigned_url_problem(url, method, "testing", "testing", at)

    assert problem(location) is None
    signature = dict(parse_qsl(urlsplit(location).query))["X-Amz-Signature"]
    assert problem(_with_query(location, **{"X-Amz-Signature": signature[::-1]})) == "SignatureDoesNotMatch"
    assert problem(location.replace(sha256(data), sha256(other))) == "SignatureDoesNotMatch"  # another blob
    assert problem(_with_query(location, **{"X-Amz-Expires": "604800"})) == "SignatureDoesNotMatch"
    assert problem(location, "PUT") == "SignatureDoesNotMatch"  # reading is all it allows
    query = dict(parse_qsl(urlsplit(location).query))
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    assert int(query["X-Amz-Expires"]) == settings.s3_presign_expiry_seconds
    expiry = timedelta(seconds=settings.s3_presign_expiry_seconds)
    assert problem(location, at=signed_at + expiry - timedelta(seconds=1)) is None
    assert problem(location, at=signed_at + expiry) == "Request has expired"


def test_without_redirects_the_bytes_stream_through_the_api(live_server: LiveServer) -> None:
    """The local store always streams, and so does S3 with PATCHHUB_S3_REDIRECTS=false (the live_server's)."""
    assert live_server.runtime.settings.s3_redirects is False or live_server.backend == "sqlite-local"
    data = tiny_model_bytes(seed=704)
    token, artifact_id = _stored(live_server, data)
    with live_server.client(token) as client:
        answer = client.get(f"/v1/artifacts/{artifact_id}/file")
        assert answer.status_code == 200 and answer.content == data and not answer.history
        part = client.get(f"/v1/artifacts/{artifact_id}/file", headers={"Range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == data[10:20]
