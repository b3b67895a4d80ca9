"""open_blob_store: the URL in PATCHHUB_BLOB_URL picks the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from registry.blobs import LocalBlobStore, S3BlobStore, S3Options, open_blob_store

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


def test_file_urls_and_plain_paths_open_a_local_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    by_url = open_blob_store(f"file://{tmp_path}/with%20space")
    assert isinstance(by_url, LocalBlobStore)
    assert by_url.root == tmp_path / "with space"
    monkeypatch.chdir(tmp_path)
    by_path = open_blob_store("relative/blobs")
    assert isinstance(by_path, LocalBlobStore)
    assert by_path.root == tmp_path / "relative" / "blobs"


def test_s3_url_opens_a_store_under_the_prefix(s3_options: S3Options, s3_client: S3Client, s3_bucket: str) -> None:
    store = open_blob_store(f"s3://{s3_bucket}/team/registry", s3=s3_options)
    assert isinstance(store, S3BlobStore)
    with store.open_writer() as writer:
        writer.write(b"bytes")
        writer.commit("blobs/x")
    assert [obj["Key"] for obj in s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]] == ["team/registry/blobs/x"]
    assert store.read("blobs/x", 0, 5) == b"bytes"


@pytest.mark.parametrize("url", ["http://example.com/blobs", "s3://ab", "s3:///prefix", "file://host/path"])
def test_unsupported_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError):
        open_blob_store(url)
