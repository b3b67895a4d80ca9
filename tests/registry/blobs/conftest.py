"""Every blob store test runs against both stores: a local directory and S3 on the moto server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from registry.blobs import BlobStore, LocalBlobStore, S3BlobStore, S3Options
from tests.registry.blobs.support import ManualClock

StoreFactory = Callable[..., BlobStore]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["local", "s3"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock) -> StoreFactory:
    """``make_store(list_page_size=...)``: a store of the parametrized kind, sharing one location."""
    if request.param == "local":

        def make_local(list_page_size: int = 1000) -> BlobStore:
            return LocalBlobStore(tmp_path / "blobs", clock=clock)

        return make_local

    client = request.getfixturevalue("s3_client")
    bucket = request.getfixturevalue("s3_bucket")
    options: S3Options = request.getfixturevalue("s3_options")

    def make_s3(list_page_size: int = 1000) -> BlobStore:
        return S3BlobStore(
            client,
            bucket,
            "registry",
            part_size=options.part_size,
            list_page_size=list_page_size,
            clock=clock,
        )

    return make_s3


@pytest.fixture
def store(make_store: StoreFactory) -> BlobStore:
    return make_store()
