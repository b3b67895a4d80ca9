"""Presigned S3 URLs: a client moves bytes straight to or from the bucket, and the API only signs.

Signing is local (no request to S3). The signing client is built for the endpoint as clients reach it
(``S3Options.public_endpoint_url``), which may differ from the one the API itself talks to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


@dataclass(frozen=True)
class S3Presigner:
    client: S3Client  # signs only; see s3_client.make_presign_client
    bucket: str
    expiry_s: int  # how long a URL stays valid; a transfer must start within it (it may finish later)

    def get_url(self, full_key: str, *, content_disposition: str | None = None) -> str:
        """GET (with any Range) of the object; the answer carries ``content_disposition`` when given."""
        params = {"Bucket": self.bucket, "Key": full_key, "ResponseContentType": "application/octet-stream"}
        if content_disposition is not None:
            params["ResponseContentDisposition"] = content_disposition
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=self.expiry_s)

    def upload_part_url(self, full_key: str, upload_id: str, number: int) -> str:
        """PUT of part ``number`` of the multipart upload ``upload_id`` (the body is the part's bytes)."""
        params = {"Bucket": self.bucket, "Key": full_key, "UploadId": upload_id, "PartNumber": number}
        return self.client.generate_presigned_url("upload_part", Params=params, ExpiresIn=self.expiry_s)
