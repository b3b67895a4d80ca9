"""Suite-wide fixtures: the S3 endpoint (moto server process) and a fresh bucket per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

import pytest

from registry.blobs.s3_client import S3Options, create_bucket_if_missing, make_s3_client
from tests.s3_server import ENDPOINT_ENV, MotoServer, endpoint_is_reachable

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef


def _unavailable(reason: str) -> NoReturn:
    """On CI a missing service is a failure, never a skip; on a laptop it skips with the reason."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of an S3 endpoint: ``$PATCHHUB_TEST_S3_ENDPOINT`` or a moto server started for the session."""
    configured = os.environ.get(ENDPOINT_ENV)
    if configured:
        if not endpoint_is_reachable(configured, timeout_s=5.0):
            _unavailable(f"{ENDPOINT_ENV}={configured} does not answer")
        yield configured
        return
    server = MotoServer()
    try:
        endpoint = server.start()
    except (OSError, RuntimeError, TimeoutError) as error:
        server.stop()
        _unavailable(f"could not start moto server: {error}")
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_options(s3_endpoint: str) -> S3Options:
    """Client options for the test endpoint: smallest legal part size so multipart paths run on MiBs."""
    return S3Options(
        endpoint_url=s3_endpoint,
        access_key_id="testing",
        secret_access_key="testing",
        part_size=5 * 1024 * 1024,
        max_attempts=2,
        read_timeout_s=30.0,
    )


@pytest.fixture(scope="session")
def s3_client(s3_options: S3Options) -> S3Client:
    return make_s3_client(s3_options)


def _empty_and_delete_bucket(client: S3Client, bucket: str) -> None:
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in page.get("Uploads", []):
            client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for objects_page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys: list[ObjectIdentifierTypeDef] = [{"Key": obj["Key"]} for obj in objects_page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=bucket)


@pytest.fixture
def s3_bucket(s3_client: S3Client) -> Iterator[str]:
    """A new, empty bucket for one test; emptied and deleted afterwards (moto keeps bytes in memory)."""
    bucket = f"patchhub-test-{uuid.uuid4().hex[:16]}"
    create_bucket_if_missing(s3_client, bucket)
    yield bucket
    _empty_and_delete_bucket(s3_client, bucket)
