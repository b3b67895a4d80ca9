"""The behaviour both blob stores promise; every test runs on the local store and on S3 (moto)."""

from __future__ import annotations

import hashlib
import tracemalloc
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from registry.blobs import BlobNotFound, BlobStore
from tests.registry.blobs.conftest import StoreFactory
from tests.registry.blobs.support import PART_SIZE, ManualClock, random_bytes, staged_items

KEY = "blobs/sha256/ab/abcdef"


def put(store: BlobStore, key: str, data: bytes, *, hint: str | None = None, chunk: int = 1 << 20) -> None:
    with store.open_writer(hint) as writer:
        for offset in range(0, len(data), chunk):
            writer.write(data[offset : offset + chunk])
        writer.commit(key)


def test_committed_blob_reads_back_and_is_listed(store: BlobStore) -> None:
    data = random_bytes(300_000)
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    with store.open_writer(KEY) as writer:
        writer.write(data[:7])
        writer.write(bytearray(data[7:100_000]))
        writer.write(memoryview(data)[100_000:])
        assert writer.bytes_written == len(data)
        assert not store.exists(KEY)  # staged bytes are invisible until commit
        assert list(store.list()) == []
        writer.commit(KEY)

    assert store.exists(KEY)
    assert store.size(KEY) == len(data)
    assert b"".join(store.iter_range(KEY)) == data
    [info] = store.list()
    assert (info.key, info.size) == (KEY, len(data))
    assert info.modified.utcoffset() == timedelta(0)
    assert before <= info.modified <= datetime.now(timezone.utc) + timedelta(seconds=5)
    assert staged_items(store) == 0


def test_empty_blob(store: BlobStore) -> None:
    put(store, KEY, b"")
    assert store.size(KEY) == 0
    assert list(store.iter_range(KEY)) == []
    assert store.read(KEY, 0, 0) == b""
    assert [info.size for info in store.list()] == [0]


def test_byte_ranges(store: BlobStore) -> None:
    data = random_bytes(10_000, seed=1)
    put(store, KEY, data)
    size = len(data)
    assert store.read(KEY, 0, 1) == data[:1]
    assert store.read(KEY, size - 1, 1) == data[-1:]
    assert store.read(KEY, 1234, 4321) == data[1234:5555]
    assert store.read(KEY, 0, size) == data
    assert b"".join(store.iter_range(KEY, 9000)) == data[9000:]
    assert b"".join(store.iter_range(KEY, 10, 20)) == data[10:20]
    assert b"".join(store.iter_range(KEY, size)) == b""
    assert store.read(KEY, size, 0) == b""


@pytest.mark.parametrize(("start", "end"), [(0, 10_001), (10_001, None), (5, 4), (-1, 10), (10_001, 10_001)])
def test_ranges_outside_the_blob_are_rejected(store: BlobStore, start: int, end: int | None) -> None:
    put(store, KEY, random_bytes(10_000))
    with pytest.raises(ValueError):
        store.iter_range(KEY, start, end)


def test_missing_blob(store: BlobStore) -> None:
    assert not store.exists(KEY)
    with pytest.raises(BlobNotFound):
        store.size(KEY)
    with pytest.raises(BlobNotFound):
        store.iter_range(KEY)  # raised at call time, before any byte is streamed
    with pytest.raises(BlobNotFound):
        store.iter_range(KEY, 5, 5)
    with pytest.raises(BlobNotFound):
        store.read(KEY, 0, 1)
    store.delete(KEY)  # deleting what is not there is fine


def test_iteration_streams_without_holding_the_blob(store: BlobStore) -> None:
    data = random_bytes(6 * 1024 * 1024, seed=2)
    put(store, KEY, data)
    digest = hashlib.sha256()
    chunk_size = 64 * 1024
    tracemalloc.start()
    try:
        for chunk in store.iter_range(KEY, chunk_size=chunk_size):
            assert 0 < len(chunk) <= chunk_size
            digest.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert peak < len(data) // 4, f"peak {peak} bytes while streaming {len(data)}"


def test_multipart_sized_blob_round_trips(store: BlobStore) -> None:
    data = random_bytes(3 * PART_SIZE + 12_345, seed=3)  # three full parts and a tail
    put(store, KEY, data, hint=KEY, chunk=1_000_003)  # chunk boundaries never line up with parts
    assert store.size(KEY) == len(data)
    digest = hashlib.sha256()
    for chunk in store.iter_range(KEY):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert store.read(KEY, PART_SIZE - 2, 4) == data[PART_SIZE - 2 : PART_SIZE + 2]
    assert staged_items(store) == 0


@pytest.mark.parametrize("size", [1000, PART_SIZE + 1000], ids=["small", "multipart"])
def test_abort_leaves_nothing_behind(store: BlobStore, size: int) -> None:
    writer = store.open_writer(KEY)
    writer.write(random_bytes(size))
    writer.abort()
    writer.abort()  # idempotent
    assert not store.exists(KEY)
    assert list(store.list()) == []
    assert staged_items(store) == 0
    with pytest.raises(RuntimeError):
        writer.write(b"more")
    with pytest.raises(RuntimeError):
        writer.commit(KEY)


def test_writer_left_uncommitted_is_aborted(store: BlobStore) -> None:
    with pytest.raises(ZeroDivisionError), store.open_writer(KEY) as writer:
        writer.write(random_bytes(PART_SIZE + 1))
        raise ZeroDivisionError  # e.g. the client disconnected mid-upload
    with store.open_writer(KEY) as writer:
        writer.write(b"never committed")
    assert list(store.list()) == []
    assert staged_items(store) == 0


@pytest.mark.parametrize("size", [1000, PART_SIZE + 1000], ids=["small", "multipart"])
def test_commit_to_another_key_than_the_hint(store: BlobStore, size: int) -> None:
    data = random_bytes(size, seed=4)
    put(store, "blobs/actual", data, hint="blobs/declared")
    assert store.read("blobs/actual", 0, size) == data
    assert not store.exists("blobs/declared")
    assert [info.key for info in store.list()] == ["blobs/actual"]
    assert staged_items(store) == 0


def test_hint_naming_an_existing_blob_never_touches_it(store: BlobStore) -> None:
    existing = random_bytes(2000, seed=5)
    put(store, "blobs/declared", existing)
    other = random_bytes(PART_SIZE + 1000, seed=6)
    put(store, "blobs/actual", other, hint="blobs/declared")
    assert store.read("blobs/declared", 0, len(existing)) == existing
    assert store.read("blobs/actual", 0, len(other)) == other


@pytest.mark.parametrize("size", [1000, PART_SIZE + 1000], ids=["small", "multipart"])
def test_commit_replaces_an_existing_blob_atomically(store: BlobStore, size: int) -> None:
    old, new = random_bytes(size, seed=7), random_bytes(size + 10, seed=8)
    put(store, KEY, old)
    reader = store.iter_range(KEY, chunk_size=100)
    first = next(reader)
    put(store, KEY, new, hint=KEY)
    # The reader that started before the replacement still gets the whole old blob.
    assert first + b"".join(reader) == old
    assert b"".join(store.iter_range(KEY)) == new
    assert [(info.key, info.size) for info in store.list()] == [(KEY, len(new))]


def test_clean_staging_keeps_fresh_uploads_and_drops_stale_ones(store: BlobStore, clock: ManualClock) -> None:
    upload = store.open_writer("blobs/upload")
    upload.write(random_bytes(PART_SIZE + 10))  # big enough that S3 has a multipart upload in flight
    assert staged_items(store) == 1

    assert store.clean_staging(older_than=timedelta(hours=1)) == 0  # fresh: an upload in progress
    assert staged_items(store) == 1

    clock.advance(timedelta(hours=2))  # the upload has now been idle for two hours
    assert store.clean_staging(older_than=timedelta(hours=1)) == 1
    assert staged_items(store) == 0
    with pytest.raises((OSError, ClientError)):
        upload.commit("blobs/upload")
    assert not store.exists("blobs/upload")

    put(store, "blobs/later", random_bytes(PART_SIZE + 10))  # the store still takes new uploads
    assert store.exists("blobs/later")


def test_clean_staging_with_zero_age_drops_everything_staged(store: BlobStore) -> None:
    for seed in range(2):
        writer = store.open_writer()
        writer.write(random_bytes(PART_SIZE + 1, seed=seed))
    put(store, KEY, b"committed")
    assert store.clean_staging(older_than=timedelta(0)) == 2
    assert staged_items(store) == 0
    assert store.read(KEY, 0, 9) == b"committed"


def test_list_filters_by_prefix_in_key_order(store: BlobStore) -> None:
    # "-" < "." < "/" < "0": directory walks must still come out in plain string order.
    keys = ["blobs/ab/x", "blobs/ab-c", "blobs/ab0", "blobs/abc/y/z", "blobs/b", "other", "blobs/ab.z"]
    for index, key in enumerate(keys):
        put(store, key, bytes([index]) * (index + 1))
    assert [info.key for info in store.list()] == sorted(keys)
    assert [info.key for info in store.list("blobs/ab")] == sorted(k for k in keys if k.startswith("blobs/ab"))
    assert [info.key for info in store.list("blobs/ab/")] == ["blobs/ab/x"]
    assert [info.key for info in store.list("blobs/zz")] == []
    sizes = {info.key: info.size for info in store.list()}
    assert sizes == {key: index + 1 for index, key in enumerate(keys)}


def test_list_pages_through_many_keys(make_store: StoreFactory) -> None:
    store = make_store(list_page_size=3)
    keys = [f"blobs/{index:03d}" for index in range(11)]
    for key in keys:
        put(store, key, key.encode())
    assert [info.key for info in store.list()] == keys
    assert [info.key for info in store.list("blobs/00")] == keys[:10]


def test_delete_removes_only_that_blob(store: BlobStore) -> None:
    put(store, "blobs/a", b"a")
    put(store, "blobs/b", b"b")
    store.delete("blobs/a")
    assert not store.exists("blobs/a")
    assert [info.key for info in store.list()] == ["blobs/b"]


@pytest.mark.parametrize(
    "bad_key",
    ["", "/etc/passwd", "../outside", "blobs/../../x", "a\\b", "a\x00b", "a//b", "a/", ".staging/x"],
)
def test_unsafe_keys_are_rejected(store: BlobStore, bad_key: str) -> None:
    with pytest.raises(ValueError):
        store.exists(bad_key)
    with pytest.raises(ValueError):
        store.open_writer(bad_key)
    with pytest.raises(ValueError):
        store.delete(bad_key)
    with pytest.raises(ValueError):
        store.iter_range(bad_key)
    writer = store.open_writer()
    writer.write(b"payload")
    with pytest.raises(ValueError):
        writer.commit(bad_key)
    assert list(store.list()) == []
    assert staged_items(store) == 0  # the failed commit aborted the upload


def test_check_passes_on_a_working_store(store: BlobStore) -> None:
    store.check()
