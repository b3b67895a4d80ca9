"""Direct uploads on S3: parts go to presigned URLs (never through the API); completing checks the joined
bytes (sha256, size, safetensors header) before anything is visible, and bytes that fail leave nothing.

The read-back here takes the first 2 MiB in one stream and, as from a slow store, the rest in 2 MiB ranged GETs,
so every 12 MiB model is read in more ranges than are in flight at once."""

from __future__ import annotations

import json
import os
import struct
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import numpy as np
import pytest
from safetensors.numpy import save

from registry.blobs import S3BlobStore, s3_direct
from registry.blobs.s3 import S3BlobWriter
from registry.blobs.s3_direct import DirectUpload, S3DirectUploads
from registry.storage.gc import collect_garbage
from registry.storage.keys import blob_key
from registry.storage.read_ahead import THREAD_PREFIX
from tests.fixtures.s3_direct import direct_server, origin  # noqa: F401
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess, make_namespace
from tests.fixtures.sigv4 import presigned_url_problem
from tests.registry.artifact_helpers import create_model, sha256, upload

MiB = 1024 * 1024
RANGE = 2 * MiB  # the read-back's range size in these tests


@pytest.fixture(autouse=True)
def _ranged_read_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_direct, "READ_RANGE_SIZE", RANGE)
    monkeypatch.setattr(s3_direct, "FAST_ONE_STREAM", float("inf"))  # no stream is fast enough: ranges


def _read_ahead_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(THREAD_PREFIX)]


def _big_model(seed: int, mib: int = 12) -> bytes:
    """A valid safetensors file of about ``mib`` MiB: three 5 MiB parts or so."""
    rng = np.random.default_rng(seed)
    return save({"weight": rng.standard_normal(mib * MiB // 4).astype(np.float32)}, metadata={"seed": str(seed)})


def _start(client: httpx.Client, team: str, transfer: str = "direct", sha256: str | None = None) -> dict:
    body = {"kind": "base", "transfer": transfer, **({"sha256": sha256} if sha256 else {})}
    response = client.post(f"/v1/models/{team}/net/uploads", json=body)
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
            assert not _read_ahead_threads(), case
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


def _s3(server: LiveServer) -> S3BlobStore:
    store = server.runtime.store
    assert isinstance(store, S3BlobStore)
    return store


@pytest.fixture
def copies(direct_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> list[str]:  # noqa: F811
    """The targets of every server-side copy the API's store makes during the test."""
    store = _s3(direct_server)
    made: list[str] = []
    original = store.copy_object

    def recording(source: str, target: str, size: int) -> None:
        made.append(target)
        original(source, target, size)

    monkeypatch.setattr(store, "copy_object", recording)
    return made


@pytest.fixture
def paused_verification(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, threading.Event]]:
    """(reached, release): a direct complete stops after joining its parts and before reading them back."""
    reached, release = threading.Event(), threading.Event()
    original = S3DirectUploads.iter_staged

    def paused(self: S3DirectUploads, upload: DirectUpload, etag: str) -> Generator[bytes]:
        reached.set()
        assert release.wait(60), "the test never released the paused verification"
        return original(self, upload, etag)

    monkeypatch.setattr(S3DirectUploads, "iter_staged", paused)
    yield reached, release
    release.set()


def _complete_in_background(client: httpx.Client, upload_id: str, sha: str) -> tuple[ThreadPoolExecutor, Future]:
    pool = ThreadPoolExecutor(1)
    return pool, pool.submit(client.post, f"/v1/uploads/{upload_id}/complete", json={"sha256": sha})


def test_a_declared_sha256_is_joined_at_its_content_address_with_no_copy(
    direct_server: LiveServer,  # noqa: F811
    copies: list[str],
    paused_verification: tuple[threading.Event, threading.Event],
) -> None:
    data = _big_model(seed=910)
    store, key, team = _s3(direct_server), blob_key(sha256(data)), _team(direct_server)
    reached, release = paused_verification
    with direct_server.client(team.write_token) as client:
        upload = _start(client, team.name, sha256=sha256(data))
        _send_parts(client, upload["id"], data)
        in_flight = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.full_key(key))
        assert [u["Key"] for u in in_flight.get("Uploads", [])] == [store.full_key(key)]
        pool, done = _complete_in_background(client, upload["id"], sha256(data))
        assert reached.wait(30)
        # Joined at its address but not verified yet: no blob there as far as dedupe and serving can tell.
        assert store.object_exists(store.full_key(key)) and not store.exists(key)
        release.set()
        response = done.result(timeout=60)
        pool.shutdown()
        assert response.status_code == 201, response.text
        assert client.get(f"/v1/artifacts/{response.json()['id']}/file", follow_redirects=True).content == data
    assert store.exists(key) and copies == []
    assert not [k for k in _staged_keys(direct_server) if upload["id"] in k]


def test_an_in_place_upload_whose_bytes_lie_leaves_nothing(direct_server: LiveServer) -> None:  # noqa: F811
    honest, lie = _big_model(seed=911), _big_model(seed=912)
    store, key, team = _s3(direct_server), blob_key(sha256(honest)), _team(direct_server)
    with direct_server.client(team.write_token) as client:
        upload = _start(client, team.name, sha256=sha256(honest))
        mismatch = client.post(f"/v1/uploads/{upload['id']}/complete", json={"sha256": sha256(lie)})
        assert mismatch.status_code == 422 and "started for sha256" in mismatch.json()["detail"]
        _send_parts(client, upload["id"], lie)
        refused = client.post(f"/v1/uploads/{upload['id']}/complete", json={})  # the declared sha256 holds
        assert refused.status_code == 422 and "sha256" in refused.json()["detail"]
        assert client.get(f"/v1/models/{team.name}/net/artifacts").json()["items"] == []
    assert not store.object_exists(store.full_key(key))
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.full_key(key))
    assert not uploads.get("Uploads")


def test_a_lying_upload_being_verified_never_breaks_an_honest_upload_of_those_bytes(
    direct_server: LiveServer,  # noqa: F811
    paused_verification: tuple[threading.Event, threading.Event],
) -> None:
    """The liar claims the honest file's sha256 and its garbage is joined at that address first; the honest
    upload (streamed through the API) must neither deduplicate against it nor lose its bytes when the liar's
    check fails and cleans up."""
    honest, lie = _big_model(seed=913), _big_model(seed=914)
    store, key, team = _s3(direct_server), blob_key(sha256(honest)), _team(direct_server)
    reached, release = paused_verification
    with direct_server.client(team.write_token) as client:
        liar = _start(client, team.name, sha256=sha256(honest))
        _send_parts(client, liar["id"], lie)
        pool, lying = _complete_in_background(client, liar["id"], sha256(honest))
        assert reached.wait(30)
        assert store.object_exists(store.full_key(key))  # the lie sits at the honest file's address
        stored = upload(client, team.name, honest, sha256=sha256(honest))
        assert stored.status_code == 201, stored.text
        release.set()
        refused = lying.result(timeout=60)
        pool.shutdown()
        assert refused.status_code == 409 and "start a new upload" in refused.json()["detail"]
        versions = client.get(f"/v1/models/{team.name}/net/artifacts").json()["items"]
        assert [v["id"] for v in versions] == [stored.json()["id"]]
        assert client.get(f"/v1/artifacts/{stored.json()['id']}/file", follow_redirects=True).content == honest
    assert store.exists(key) and store.read(key, 0, len(honest)) == honest


def test_two_in_place_uploads_of_the_same_bytes_one_lying_the_honest_one_retries_and_wins(
    direct_server: LiveServer,  # noqa: F811
    paused_verification: tuple[threading.Event, threading.Event],
) -> None:
    """Both declare the same sha256 and start in place; the liar joins first. The honest one's join is refused
    (409, parts dropped: it never replaces bytes under verification), the liar fails its check and removes
    only its own object, and the honest upload started again is stored and served."""
    honest, lie = _big_model(seed=915), _big_model(seed=916)
    store, key, team = _s3(direct_server), blob_key(sha256(honest)), _team(direct_server)
    reached, release = paused_verification
    with direct_server.client(team.write_token) as client:
        liar = _start(client, team.name, sha256=sha256(honest))
        first = _start(client, team.name, sha256=sha256(honest))
        _send_parts(client, liar["id"], lie)
        _send_parts(client, first["id"], honest)
        pool, lying = _complete_in_background(client, liar["id"], sha256(honest))
        assert reached.wait(30)
        # Asked while the liar's bytes sit there unverified: the join is refused before any read-back (a join
        # that went through would stop at the paused read-back too, and fail after its wait).
        raced = client.post(f"/v1/uploads/{first['id']}/complete", json={"sha256": sha256(honest)})
        release.set()
        assert lying.result(timeout=60).status_code == 422
        pool.shutdown()
        assert raced.status_code == 409 and "start a new upload" in raced.json()["detail"]
        assert client.get(f"/v1/uploads/{first['id']}").status_code == 404  # so a client starts anew
        assert not store.object_exists(store.full_key(key))  # the liar removed its own bytes, nothing else
        again = _start(client, team.name, sha256=sha256(honest))
        _send_parts(client, again["id"], honest)
        done = client.post(f"/v1/uploads/{again['id']}/complete", json={})
        assert done.status_code == 201, done.text
        assert client.get(f"/v1/artifacts/{done.json()['id']}/file", follow_redirects=True).content == honest
    assert store.exists(key)


def test_a_blob_verified_meanwhile_makes_an_in_place_upload_stage_and_deduplicate(
    direct_server: LiveServer,  # noqa: F811
    copies: list[str],
) -> None:
    data = _big_model(seed=917)
    store, key, team = _s3(direct_server), blob_key(sha256(data)), _team(direct_server)
    with direct_server.client(team.write_token) as client:
        assert upload(client, team.name, data, sha256=sha256(data)).status_code == 201
        second = _start(client, team.name, sha256=sha256(data))  # the bytes are stored: staged, checked, deduplicated
        _send_parts(client, second["id"], data)
        done = client.post(f"/v1/uploads/{second['id']}/complete", json={})
        assert done.status_code == 201 and done.json()["version"] == 2, done.text
    assert store.exists(key) and copies == []
    assert not [k for k in _staged_keys(direct_server) if second["id"] in k]


def test_an_in_place_upload_failing_its_kind_check_never_deletes_identical_verified_bytes(
    direct_server: LiveServer,  # noqa: F811
    paused_verification: tuple[threading.Event, threading.Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its bytes are right for their address but wrong for its kind (a base sent as a signature). Meanwhile an
    honest upload of the same bytes through the API, whose multipart upload started at that address before,
    replaced them with its own verified object, with the same ETag (same bytes, same 5 MiB parts): the failed
    upload must not delete that object on its way out."""
    data = _big_model(seed=918)
    store, key, team = _s3(direct_server), blob_key(sha256(data)), _team(direct_server)
    reached, release = paused_verification
    committing, commit = threading.Event(), threading.Event()
    original_commit = S3BlobWriter._commit

    def paused_commit(self: S3BlobWriter, target: str) -> None:
        committing.set()
        assert commit.wait(60)
        original_commit(self, target)

    monkeypatch.setattr(S3BlobWriter, "_commit", paused_commit)
    with direct_server.client(team.write_token) as client, ThreadPoolExecutor(2) as pool:
        body = {"kind": "rws", "transfer": "direct", "sha256": sha256(data)}
        signature = client.post(f"/v1/models/{team.name}/net/uploads", json=body).json()
        _send_parts(client, signature["id"], data)
        honest = pool.submit(upload, client, team.name, data, sha256=sha256(data))
        assert committing.wait(30)  # its parts are at the address, not joined yet
        wrong_kind = pool.submit(client.post, f"/v1/uploads/{signature['id']}/complete", json={})
        assert reached.wait(30)  # joined at the address, tagged, not read back yet
        joined = store.client.head_object(Bucket=store.bucket, Key=store.full_key(key))["ETag"]
        commit.set()
        stored = honest.result(timeout=60)
        assert stored.status_code == 201, stored.text
        assert store.client.head_object(Bucket=store.bucket, Key=store.full_key(key))["ETag"] == joined
        release.set()
        refused = wrong_kind.result(timeout=60)
        assert refused.status_code == 422 and "rws" in refused.json()["detail"]
        assert client.get(f"/v1/artifacts/{stored.json()['id']}/file", follow_redirects=True).content == data
    assert store.exists(key)


def test_bytes_joined_in_place_by_a_server_that_died_before_checking_them_stay_invisible_until_gc(
    direct_server: LiveServer,  # noqa: F811
) -> None:
    data = _big_model(seed=919)
    store, key, team = _s3(direct_server), blob_key(sha256(data)), _team(direct_server)
    full = store.full_key(key)
    with direct_server.client(team.write_token) as client:
        started = _start(client, team.name, sha256=sha256(data))
        _send_parts(client, started["id"], data)
    (in_flight,) = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=full)["Uploads"]
    listed = store.client.list_parts(Bucket=store.bucket, Key=full, UploadId=in_flight["UploadId"])["Parts"]
    store.client.complete_multipart_upload(  # the join, then the process is gone
        Bucket=store.bucket,
        Key=full,
        UploadId=in_flight["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in listed]},
    )
    assert store.object_exists(full) and not store.exists(key)  # there, but no blob to anyone
    collect_garbage(direct_server.runtime.session_factory, store, timedelta(hours=1))
    assert store.object_exists(full)  # young: may be an upload being checked right now
    collect_garbage(direct_server.runtime.session_factory, store, timedelta(0))
    assert not store.object_exists(full)


class ReadBackGets:
    """Every get_object the API's store makes: the Range asked for, and whether the body was closed; ``before``
    runs in the requesting thread just before a GET is sent."""

    def __init__(self, get: Callable[..., Any]) -> None:
        self._get = get
        self._lock = threading.Lock()
        self.ranges: list[str | None] = []
        self.closed: list[bool] = []
        self.before: Callable[[str | None], None] = lambda _range: None

    def __call__(self, **request: Any) -> Any:
        self.before(request.get("Range"))
        response = self._get(**request)
        body = response["Body"]
        close = body.close
        with self._lock:
            index = len(self.ranges)
            self.ranges.append(request.get("Range"))
            self.closed.append(False)

        def closing() -> None:
            self.closed[index] = True
            close()

        body.close = closing
        return response


@pytest.fixture
def gets(direct_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> ReadBackGets:  # noqa: F811
    store = _s3(direct_server)
    spy = ReadBackGets(store.client.get_object)
    monkeypatch.setattr(store.client, "get_object", spy)
    return spy


def _ranges(size: int, range_size: int = RANGE) -> list[str]:
    return [f"bytes={start}-{min(start + range_size, size) - 1}" for start in range(0, size, range_size)]


def test_a_multi_range_object_is_read_back_in_ranges_in_order_and_published_with_its_sha256(
    direct_server: LiveServer,  # noqa: F811
    gets: ReadBackGets,
) -> None:
    data = _big_model(seed=930)
    team = _team(direct_server)
    with direct_server.client(team.write_token) as client:
        upload = _start(client, team.name, sha256=sha256(data))
        _send_parts(client, upload["id"], data)
        done = client.post(f"/v1/uploads/{upload['id']}/complete", json={})
        assert done.status_code == 201, done.text
        assert (done.json()["sha256"], done.json()["size"]) == (sha256(data), len(data))
        first, *later = gets.ranges
        assert first is None  # one stream for the first range, then the rest in ranges (in any order of asking)
        assert sorted(later, key=lambda r: int(str(r).split("=")[1].split("-")[0])) == _ranges(len(data))[1:]
        assert len(later) > s3_direct.READS_IN_FLIGHT and all(gets.closed)
        assert not _read_ahead_threads()
        assert client.get(f"/v1/artifacts/{done.json()['id']}/file", follow_redirects=True).content == data


def test_an_object_of_one_range_is_read_back_in_one_get(
    direct_server: LiveServer,  # noqa: F811
    gets: ReadBackGets,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _big_model(seed=931, mib=6)
    monkeypatch.setattr(s3_direct, "READ_RANGE_SIZE", len(data))
    team = _team(direct_server)
    with direct_server.client(team.write_token) as client:
        upload = _start(client, team.name)
        _send_parts(client, upload["id"], data)
        done = client.post(f"/v1/uploads/{upload['id']}/complete", json={"sha256": sha256(data)})
        assert done.status_code == 201 and done.json()["sha256"] == sha256(data), done.text
    assert gets.ranges == [None] and all(gets.closed)


def test_a_fast_stream_is_read_back_to_the_end_in_one_get(
    direct_server: LiveServer,  # noqa: F811
    gets: ReadBackGets,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _big_model(seed=933)
    monkeypatch.setattr(s3_direct, "FAST_ONE_STREAM", 0)  # any stream is fast enough
    team = _team(direct_server)
    with direct_server.client(team.write_token) as client:
        upload = _start(client, team.name, sha256=sha256(data))
        _send_parts(client, upload["id"], data)
        done = client.post(f"/v1/uploads/{upload['id']}/complete", json={})
        assert done.status_code == 201 and done.json()["sha256"] == sha256(data), done.text
    assert gets.ranges == [None] and all(gets.closed) and not _read_ahead_threads()


def _many_tensors_model(tensors: int = 45_000, tail_mib: int = 6) -> bytes:
    """A valid file whose JSON header is about 2.6 MiB (many one-float tensors), then a tensor of ``tail_mib``."""
    entries: dict[str, object] = {}
    for i in range(tensors):
        entries[f"t{i:05d}"] = {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]}
    tail = tail_mib * MiB
    entries["tail"] = {"dtype": "U8", "shape": [tail], "data_offsets": [4 * tensors, 4 * tensors + tail]}
    header = json.dumps(entries, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + os.urandom(4 * tensors + tail)


def test_a_check_failing_in_a_later_range_stops_the_read_back_and_leaves_nothing(
    direct_server: LiveServer,  # noqa: F811
    gets: ReadBackGets,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The header spans ranges 0-2 and breaks in range 2; the file continues past what its header describes in
    range 4. Either way the ranges still in flight are stopped, their bodies closed and no thread is left."""
    monkeypatch.setattr(s3_direct, "READ_RANGE_SIZE", 1 * MiB)
    good = _many_tensors_model()
    broken_at = good.index(b'"dtype"', int(2.5 * MiB))
    bad_header = good[:broken_at] + b"!" + good[broken_at + 1 :]
    header_end = 8 + int.from_bytes(good[:8], "little")
    too_long = _many_tensors_model(tail_mib=1) + os.urandom(5 * MiB)  # describes ~4.8 MiB, holds ~9.8
    assert 2 * MiB < broken_at < header_end < 3 * MiB
    team = _team(direct_server)
    with direct_server.client(team.write_token) as client:
        for case, data in {"bad header": bad_header, "too long": too_long}.items():
            gets.ranges.clear()
            gets.closed.clear()
            upload = _start(client, team.name)
            _send_parts(client, upload["id"], data)
            done = client.post(f"/v1/uploads/{upload['id']}/complete", json={"sha256": sha256(data)})
            assert done.status_code == 422 and "safetensors" in done.json()["detail"], (case, done.text)
            assert len(gets.ranges) < len(_ranges(len(data), MiB)), case  # stopped before the end
            assert all(gets.closed), case
            assert not _read_ahead_threads(), case
            assert not direct_server.runtime.store.exists(blob_key(sha256(data))), case
        assert client.get(f"/v1/models/{team.name}/net/artifacts").json()["items"] == []


def test_an_object_replaced_during_its_read_back_is_a_race_and_the_replacement_stays(
    direct_server: LiveServer,  # noqa: F811
    gets: ReadBackGets,
) -> None:
    """A verified writer replaces the in-place object after the check took its first two ranges: the next range
    (If-Match on the joined ETag) fails, the upload is a 409 and the replacing object is left alone."""
    data = _big_model(seed=932)
    store, key, team = _s3(direct_server), blob_key(sha256(data)), _team(direct_server)
    full = store.full_key(key)
    # Ranges 1-4 are asked for once the stream gave range 0; range 5 (the sixth) only once the check took range 1.
    sixth = _ranges(len(data))[s3_direct.READS_IN_FLIGHT + 1]
    replaced: list[str] = []

    def replace_before_the_sixth_range(requested: str | None) -> None:
        if requested == sixth:
            replaced.append(store.client.put_object(Bucket=store.bucket, Key=full, Body=data)["ETag"])

    with direct_server.client(team.write_token) as client:
        upload = _start(client, team.name, sha256=sha256(data))
        _send_parts(client, upload["id"], data)
        gets.before = replace_before_the_sixth_range
        raced = client.post(f"/v1/uploads/{upload['id']}/complete", json={})
        gets.before = lambda _range: None
        assert raced.status_code == 409 and "start a new upload" in raced.json()["detail"], raced.text
        assert replaced and sixth not in gets.ranges  # refused: If-Match no longer holds
        assert all(gets.closed) and not _read_ahead_threads()
        assert client.get(f"/v1/models/{team.name}/net/artifacts").json()["items"] == []
    assert store.client.head_object(Bucket=store.bucket, Key=full)["ETag"] == replaced[0]
