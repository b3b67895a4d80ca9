"""The one place that builds boto3 S3 clients (AWS, MinIO or any S3 endpoint)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from pydantic import SecretStr

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

    from registry.settings import Settings

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's floor for every multipart part but the last
MAX_PART_SIZE = 5 * 1024 * MiB  # S3's ceiling for one part (and for a single-request CopyObject)


@dataclass(frozen=True)
class S3Options:
    # Endpoint URL; None means AWS. MinIO: "http://minio:9000"; tests: the moto server's URL.
    endpoint_url: str | None = None
    region: str = "us-east-1"
    # Static credentials; None falls back to boto3's chain (env vars, profile, instance role).
    access_key_id: str | None = None
    secret_access_key: SecretStr | str | None = field(default=None, repr=False)
    # Bucket in the URL path instead of the host name (needed by MinIO and moto).
    path_style: bool = True
    # Multipart part size in bytes; one part is buffered in memory per upload in flight.
    part_size: int = 8 * MiB
    # Parts of one upload sent concurrently; memory per upload is about (parts_in_flight + 1) x part_size.
    parts_in_flight: int = 8
    # Attempts per request (first try included) under botocore's "standard" retry mode.
    max_attempts: int = 5
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0
    # Keys per ListObjectsV2 request (S3 caps it at 1000; smaller values exercise pagination in tests).
    list_page_size: int = 1000
    # Clients move bytes straight to and from the bucket with presigned URLs (downloads redirect, uploads
    # may send parts directly); False streams every byte through the API.
    redirects: bool = True
    # How long a presigned URL stays valid, in seconds (a transfer must start within it).
    presign_expiry_s: int = 300
    # The endpoint as clients reach it, for signing URLs; None: endpoint_url (or AWS).
    public_endpoint_url: str | None = None

    def __post_init__(self) -> None:
        if not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be between 5 MiB and 5 GiB, got {self.part_size}")
        if not 1 <= self.list_page_size <= 1000:
            raise ValueError(f"list_page_size must be in 1..1000, got {self.list_page_size}")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 1 <= self.presign_expiry_s <= 7 * 24 * 3600:
            raise ValueError(f"presign_expiry_s must be between 1 s and 7 days (SigV4), got {self.presign_expiry_s}")

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Options:
        return cls(
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            path_style=settings.s3_path_style,
            part_size=settings.s3_part_size,
            parts_in_flight=settings.s3_parts_in_flight,
            max_attempts=settings.s3_max_attempts,
            redirects=settings.s3_redirects,
            presign_expiry_s=settings.s3_presign_expiry_seconds,
            public_endpoint_url=settings.s3_public_endpoint_url,
        )

    def secret_value(self) -> str | None:
        secret = self.secret_access_key
        return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def make_s3_client(options: S3Options) -> S3Client:
    config = Config(
        region_name=options.region,
        retries={"mode": "standard", "max_attempts": options.max_attempts},
        connect_timeout=options.connect_timeout_s,
        read_timeout=options.read_timeout_s,
        s3={"addressing_style": "path" if options.path_style else "auto"},
        # Bytes are verified end to end by their sha256 (computed while they arrive); skip the extra
        # CRC32 pass botocore would add to every part by default.
        request_checksum_calculation="when_required",
        max_pool_connections=32,  # parts in flight from several concurrent uploads share one client
    )
    # A fresh session per client: boto3's default session is shared global state and not thread-safe.
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=options.endpoint_url,
        aws_access_key_id=options.access_key_id,
        aws_secret_access_key=options.secret_value(),
        config=config,
    )


def make_presign_client(options: S3Options) -> S3Client:
    """A client that only signs URLs (SigV4, which every S3 endpoint accepts), for the public endpoint."""
    config = Config(
        region_name=options.region,
        signature_version="s3v4",
        s3={"addressing_style": "path" if options.path_style else "auto"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=options.public_endpoint_url or options.endpoint_url,
        aws_access_key_id=options.access_key_id,
        aws_secret_access_key=options.secret_value(),
        config=config,
    )


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def create_bucket_if_missing(client: S3Client, bucket: str, region: str = "us-east-1") -> None:
    """For tests and development setups; production buckets are provisioned outside the service."""
    try:
        client.head_bucket(Bucket=bucket)
        return
    except ClientError as error:
        if error_code(error) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    try:
        if region == "us-east-1":
            client.create_bucket(Bucket=bucket)
        else:
            client.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
            )
    except ClientError as error:
        if error_code(error) != "BucketAlreadyOwnedByYou":  # created concurrently by us: fine
            raise
