"""S3-only behaviour: multipart layout, memory bound, copies, prefixes, conflicts and configuration."""

from __future__ import annotations

import hashlib
import tracemalloc
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from registry.blobs import BlobStoreUnavailable, S3BlobStore, S3Options, make_s3_client
from registry.blobs.s3 import MAX_PART_SIZE, PARTS_PER_SIZE_STEP, UNVERIFIED_TAG, part_size_for
from registry.settings import Settings
from tests.registry.blobs.support import PART_SIZE, random_bytes, staged_items

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


@pytest.fixture
def s3_store(s3_client: S3Client, s3_bucket: str) -> S3BlobStore:
    return S3BlobStore(s3_client, s3_bucket, "registry", part_size=PART_SIZE)


def etag(store: S3BlobStore, key: str) -> str:
    return store.client.head_object(Bucket=store.bucket, Key=store.full_key(key))["ETag"].strip('"')


def write_in_chunks(store: S3BlobStore, key: str, data: bytes, hint: str | None, chunk: int) -> None:
    with store.open_writer(hint) as writer:
        for offset in range(0, len(data), chunk):
            writer.write(data[offset : offset + chunk])
        writer.commit(key)


def test_large_blob_goes_up_in_parts_of_the_configured_size(s3_store: S3BlobStore) -> None:
    write_in_chunks(s3_store, "blobs/big", random_bytes(3 * PART_SIZE + 100), "blobs/big", chunk=777_777)
    assert etag(s3_store, "blobs/big").endswith("-4")  # S3 multipart ETags end in "-<part count>"
    write_in_chunks(s3_store, "blobs/small", random_bytes(PART_SIZE - 1), None, chunk=777_777)
    assert "-" not in etag(s3_store, "blobs/small")  # smaller than a part: one PutObject


def test_upload_memory_is_bounded_by_the_part_size_not_the_blob(s3_client: S3Client, s3_bucket: str) -> None:
    # Parts upload concurrently: memory is the parts in flight plus the one filling, whatever the blob size.
    s3_store = S3BlobStore(s3_client, s3_bucket, "registry", part_size=PART_SIZE, parts_in_flight=2)
    size = 10 * PART_SIZE
    chunk = random_bytes(256 * 1024)
    tracemalloc.start()
    try:
        with s3_store.open_writer("blobs/streamed") as writer:
            for _ in range(size // len(chunk)):
                writer.write(chunk)
            writer.commit("blobs/streamed")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert s3_store.size("blobs/streamed") == size
    assert peak < (s3_store.parts_in_flight + 2) * PART_SIZE, (
        f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB upload"
    )


def test_part_size_doubles_so_unknown_lengths_fit_in_10000_parts() -> None:
    base = 16 * 1024 * 1024
    assert part_size_for(1, base) == part_size_for(PARTS_PER_SIZE_STEP, base) == base
    assert part_size_for(PARTS_PER_SIZE_STEP + 1, base) == 2 * base
    assert part_size_for(10_000, base) == MAX_PART_SIZE
    assert sum(part_size_for(n, base) for n in range(1, 10_001)) > 10 * 2**40  # over 10 TiB


def test_commit_elsewhere_copies_part_by_part_above_the_threshold(s3_client: S3Client, s3_bucket: str) -> None:
    store = S3BlobStore(s3_client, s3_bucket, part_size=PART_SIZE, copy_part_threshold=PART_SIZE)
    data = random_bytes(2 * PART_SIZE + 100, seed=3)
    write_in_chunks(store, "blobs/actual", data, "blobs/declared", chunk=1 << 20)
    assert etag(store, "blobs/actual").endswith("-3")  # UploadPartCopy, as S3 needs above 5 GiB
    assert hashlib.sha256(b"".join(store.iter_range("blobs/actual"))).digest() == hashlib.sha256(data).digest()
    assert not store.exists("blobs/declared")
    assert staged_items(store) == 0


def test_blob_appearing_at_the_hint_key_mid_upload_is_never_replaced(s3_store: S3BlobStore) -> None:
    # A client declares a digest, uploads different bytes; meanwhile the real owner of that digest
    # uploads. Committing the liar's bytes under their true key must not clobber the real blob.
    liar = s3_store.open_writer("blobs/declared")
    liar.write(random_bytes(PART_SIZE + 10, seed=1))
    genuine = random_bytes(1000, seed=2)
    write_in_chunks(s3_store, "blobs/declared", genuine, "blobs/declared", chunk=1000)
    with pytest.raises(ClientError):
        liar.commit("blobs/actual")
    assert s3_store.read("blobs/declared", 0, 1000) == genuine
    assert not s3_store.exists("blobs/actual")
    assert staged_items(s3_store) == 0


def test_stores_under_different_prefixes_do_not_see_each_other(s3_client: S3Client, s3_bucket: str) -> None:
    first = S3BlobStore(s3_client, s3_bucket, "first")
    second = S3BlobStore(s3_client, s3_bucket, "/second/")
    write_in_chunks(first, "blobs/x", b"one", None, chunk=3)
    write_in_chunks(second, "blobs/x", b"two", None, chunk=3)
    assert [info.key for info in first.list()] == ["blobs/x"]
    assert second.read("blobs/x", 0, 3) == b"two"
    raw_keys = sorted(obj["Key"] for obj in s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"])
    assert raw_keys == ["first/blobs/x", "second/blobs/x"]


def test_leftover_staging_objects_are_hidden_and_cleaned(s3_store: S3BlobStore) -> None:
    # What a crash between completing a staged upload and copying it leaves behind.
    s3_store.client.put_object(Bucket=s3_store.bucket, Key=s3_store.new_staging_key(), Body=b"orphan")
    assert list(s3_store.list()) == []
    assert s3_store.clean_staging(older_than=timedelta(hours=1)) == 0
    assert s3_store.clean_staging(older_than=timedelta(0)) == 1
    assert staged_items(s3_store) == 0


def test_check_reports_a_missing_bucket(s3_client: S3Client) -> None:
    with pytest.raises(BlobStoreUnavailable, match="does not exist"):
        S3BlobStore(s3_client, "patchhub-no-such-bucket").check()


def test_check_reports_an_unreachable_endpoint() -> None:
    options = S3Options(endpoint_url="http://127.0.0.1:9", access_key_id="k", secret_access_key="s", max_attempts=1)
    with pytest.raises(BlobStoreUnavailable, match="unreachable"):
        S3BlobStore(make_s3_client(options), "bucket").check()


def test_options_validate_and_keep_the_secret_out_of_repr() -> None:
    with pytest.raises(ValueError):
        S3Options(part_size=PART_SIZE - 1)
    with pytest.raises(ValueError):
        S3Options(list_page_size=1001)
    settings = Settings(
        s3_endpoint_url="http://minio:9000",
        s3_access_key_id="AKIDEXAMPLE",
        s3_secret_access_key="hunter2-secret",  # type: ignore[arg-type]  # pydantic coerces to SecretStr
        s3_part_size=8 * 1024 * 1024,
    )
    options = S3Options.from_settings(settings)
    assert (options.endpoint_url, options.part_size) == ("http://minio:9000", 8 * 1024 * 1024)
    assert options.secret_value() == "hunter2-secret"
    assert "hunter2" not in repr(options)
    assert "hunter2" not in repr(make_s3_client(options).meta.config.__dict__)


def test_an_object_tagged_unverified_is_no_blob_until_the_tag_is_removed(s3_store: S3BlobStore) -> None:
    client, bucket, full = s3_store.client, s3_store.bucket, s3_store.full_key("sha256/ab/unverified")
    client.put_object(Bucket=bucket, Key=full, Body=b"not checked yet", Tagging=f"{UNVERIFIED_TAG}=1")
    assert s3_store.object_exists(full) and not s3_store.exists("sha256/ab/unverified")
    client.put_object_tagging(Bucket=bucket, Key=full, Tagging={"TagSet": [{"Key": "team", "Value": "ml"}]})
    assert s3_store.exists("sha256/ab/unverified")  # another tag (an operator's) is no verdict
    client.put_object(Bucket=bucket, Key=full, Body=b"not checked yet", Tagging=f"{UNVERIFIED_TAG}=1")
    # Verified bytes written over it (a staged writer's copy) carry no tag: a blob.
    write_in_chunks(s3_store, "sha256/ab/unverified", random_bytes(PART_SIZE + 10), "sha256/ab/unverified", PART_SIZE)
    assert s3_store.exists("sha256/ab/unverified")


class _Endpoint:
    """The moto client, minus one feature: ``head_object`` without TagCount, or no CRC32 multipart uploads."""

    def __init__(self, client: S3Client, lacks: str) -> None:
        self._client, self._lacks = client, lacks

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)

    def head_object(self, **params: object) -> dict:
        head = dict(self._client.head_object(**params))  # type: ignore[arg-type]
        if self._lacks == "tag count":
            head.pop("TagCount", None)
        return head

    def create_multipart_upload(self, **params: object) -> dict:
        if self._lacks == "crc32" and "ChecksumAlgorithm" in params:
            raise ClientError({"Error": {"Code": "NotImplemented"}}, "CreateMultipartUpload")
        return dict(self._client.create_multipart_upload(**params))  # type: ignore[arg-type]


def test_what_direct_uploads_rely_on_is_probed_once_per_store(s3_client: S3Client, s3_bucket: str) -> None:
    moto = S3BlobStore(s3_client, s3_bucket, "registry", part_size=PART_SIZE)
    assert moto.verifies_in_place() and moto.part_checksum() == "CRC32"
    no_tags = S3BlobStore(_Endpoint(s3_client, "tag count"), s3_bucket, "registry")  # type: ignore[arg-type]
    assert not no_tags.verifies_in_place() and no_tags.part_checksum() == "CRC32"
    no_crc = S3BlobStore(_Endpoint(s3_client, "crc32"), s3_bucket, "registry")  # type: ignore[arg-type]
    assert no_crc.verifies_in_place() and no_crc.part_checksum() is None
    assert staged_items(moto) == 0  # the probes leave nothing behind
