"""Uploads and downloads through the SDK against the real service: bytes, hashes, cache and resumption."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

from patchhub import APIConnectionError, ChecksumMismatchError, Client
from patchhub.download import PartialDigest
from patchhub.signature import quantize_signature
from tests.client.conftest import RecordingTransport
from tests.fixtures.safetensors_files import tiny_model_bytes


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_requests(transport: RecordingTransport) -> list[httpx.Request]:
    return [r for r in transport.requests if r.url.path.endswith("/file")]


def test_upload_download_round_trip_keeps_bytes_and_lineage(
    make_client: Callable[..., Client], model_id: str, tmp_path: Path
) -> None:
    client = make_client()
    data = tiny_model_bytes(seed=1)
    base = client.artifacts.upload(model_id, data, kind="base", metadata={"acc": 0.9})
    assert (base.version, base.kind, base.sha256, base.size) == (1, "base", sha256(data), len(data))
    assert base.metadata == {"acc": 0.9}
    assert base.file_metadata["seed"] == "1"

    source = tmp_path / "patch.safetensors"
    delta = {"layers.0.weight": np.full((16, 16), 0.01, dtype=np.float32)}
    source.write_bytes(quantize_signature(delta, bits=8).to_bytes())  # kind rws must hold a signature
    patch = client.artifacts.upload(model_id, source, kind="rws", parents=[base.ref])
    assert patch.version == 2
    assert [p.id for p in patch.parents] == [base.id]
    assert [a.id for a in client.artifacts.lineage(f"{model_id}@latest")] == [base.id]

    out = client.artifacts.download(f"{model_id}@v1", tmp_path / "out")
    assert out.read_bytes() == data
    assert client.artifacts.download(patch.id).read_bytes() == source.read_bytes()
    assert [a.version for a in client.artifacts.list(model_id)] == [1, 2]

    index = client.artifacts.tensors(f"{model_id}@1")
    assert index["layers.0.weight"].shape == (16, 16)
    assert index.parameter_count == 3 * (16 * 16 + 16)
    loaded = client.artifacts.load(base.id)
    expected = np.random.default_rng(1).standard_normal((16, 16)).astype(np.float32)
    np.testing.assert_array_equal(loaded["layers.0.weight"], expected)


def test_aliases_and_metadata(make_client: Callable[..., Client], model_id: str) -> None:
    client = make_client()
    first = client.artifacts.upload(model_id, tiny_model_bytes(seed=3))
    client.artifacts.upload(model_id, tiny_model_bytes(seed=4))
    alias = client.artifacts.set_alias(model_id, "prod", "v1")
    assert (alias.alias, alias.version, alias.artifact_id) == ("prod", 1, first.id)
    assert client.artifacts.resolve(f"{model_id}@prod").id == first.id
    assert client.artifacts.resolve(model_id).version == 2  # no selector: latest
    assert {a.alias: a.version for a in client.artifacts.aliases(model_id)} == {"latest": 2, "prod": 1}
    client.artifacts.delete_alias(model_id, "prod")
    assert "prod" not in client.models.get(model_id).aliases

    patched = client.artifacts.update_metadata(f"{model_id}@v1", {"top1": 0.71, "note": "x"})
    patched = client.artifacts.update_metadata(patched.id, {"note": None})
    assert patched.metadata == {"top1": 0.71}
    assert patched.sha256 == first.sha256


def test_second_download_is_served_from_the_cache(
    make_client: Callable[..., Client], model_id: str, cache_dir: Path
) -> None:
    data = tiny_model_bytes(seed=5)
    artifact = make_client().artifacts.upload(model_id, data)
    recorder = RecordingTransport()
    client = make_client(http_client=httpx.Client(transport=recorder))
    first = client.artifacts.download(f"{model_id}@v1")
    second = client.artifacts.download(artifact.id)
    assert first == second and first.read_bytes() == data
    assert first.is_relative_to(cache_dir) and first.name == f"{artifact.sha256}.safetensors"
    assert len(file_requests(recorder)) == 1  # the second call only asked for the artifact's metadata


def test_interrupted_download_resumes_with_range(
    make_client: Callable[..., Client], model_id: str, cache_dir: Path
) -> None:
    data = tiny_model_bytes(seed=6, layers=4, width=32)
    artifact = make_client().artifacts.upload(model_id, data)
    partial = cache_dir / "blobs" / artifact.sha256[:2] / f"{artifact.sha256}.incomplete"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(data[:5000])

    recorder = RecordingTransport()
    path = make_client(http_client=httpx.Client(transport=recorder)).artifacts.download(artifact.id)
    assert path.read_bytes() == data
    assert not partial.exists()
    [request] = file_requests(recorder)
    assert request.headers["Range"] == "bytes=5000-"
    assert request.headers["If-Range"] == f'"{artifact.sha256}"'


def test_download_broken_off_mid_body_resumes_in_the_same_call(
    make_client: Callable[..., Client], model_id: str
) -> None:
    data = tiny_model_bytes(seed=13, layers=4, width=32)
    artifact = make_client().artifacts.upload(model_id, data)
    cuts = [7000]

    def cut_first_download(request: httpx.Request) -> int | None:
        return cuts.pop() if request.url.path.endswith("/file") and cuts else None

    recorder = RecordingTransport(cut=cut_first_download)
    path = make_client(http_client=httpx.Client(transport=recorder)).artifacts.download(artifact.id)
    assert path.read_bytes() == data
    first, second = file_requests(recorder)
    assert "Range" not in first.headers
    assert second.headers["Range"] == "bytes=7000-"


def test_downloads_are_hashed_as_they_arrive_and_only_earlier_bytes_are_read_back(
    make_client: Callable[..., Client], model_id: str, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_back: list[int] = []  # bytes each catch-up read from the partial file
    original = PartialDigest.catch_up

    def recording(digest: PartialDigest, path: Path, size: int) -> None:
        before = digest.length
        original(digest, path, size)
        read_back.append(digest.length - before)

    monkeypatch.setattr(PartialDigest, "catch_up", recording)
    client = make_client()
    data = tiny_model_bytes(seed=14, layers=4, width=32)
    fresh = client.artifacts.upload(model_id, data)
    assert client.artifacts.download(fresh.id).read_bytes() == data
    assert sum(read_back) == 0  # every byte was hashed on its way to the disk

    read_back.clear()
    other = tiny_model_bytes(seed=15, layers=4, width=32)
    resumed = client.artifacts.upload(model_id, other)
    partial = cache_dir / "blobs" / resumed.sha256[:2] / f"{resumed.sha256}.incomplete"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(other[:5000])  # left by an earlier process
    assert client.artifacts.download(resumed.id).read_bytes() == other
    assert sum(read_back) == 5000


def test_a_download_that_gives_up_leaves_no_hashing_thread_and_resumes_later(
    make_client: Callable[..., Client], model_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("patchhub.download.HASH_BLOCK_BYTES", 1024)  # the hashing thread starts at once
    data = tiny_model_bytes(seed=16, layers=4, width=32)
    artifact = make_client().artifacts.upload(model_id, data)
    file_gets = 0

    def first_cut_then_down(request: httpx.Request) -> httpx.ConnectError | None:
        nonlocal file_gets
        if not request.url.path.endswith("/file"):
            return None
        file_gets += 1
        return None if file_gets == 1 else httpx.ConnectError("connection refused", request=request)

    transport = RecordingTransport(fail=first_cut_then_down, cut=lambda request: 7000)
    with pytest.raises(APIConnectionError):
        make_client(http_client=httpx.Client(transport=transport), max_retries=1).artifacts.download(artifact.id)
    assert not [t for t in threading.enumerate() if t.name == "patchhub-download-hash"]
    assert make_client().artifacts.download(artifact.id).read_bytes() == data


def test_corrupt_partial_download_is_refused_then_refetched(
    make_client: Callable[..., Client], model_id: str, cache_dir: Path
) -> None:
    data = tiny_model_bytes(seed=7)
    artifact = make_client().artifacts.upload(model_id, data)
    partial = cache_dir / "blobs" / artifact.sha256[:2] / f"{artifact.sha256}.incomplete"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"\xff" * 100)  # not a prefix of the blob

    client = make_client()
    with pytest.raises(ChecksumMismatchError, match="sha256"):
        client.artifacts.download(artifact.id)
    assert not partial.exists() and not (partial.parent / f"{artifact.sha256}.safetensors").exists()
    assert client.artifacts.download(artifact.id).read_bytes() == data


def test_resumable_upload_continues_after_a_lost_connection(
    make_client: Callable[..., Client], model_id: str, tmp_path: Path
) -> None:
    data = tiny_model_bytes(seed=8, layers=4, width=48)  # about 37 KB: four 10 KB parts
    source = tmp_path / "big.safetensors"
    source.write_bytes(data)
    options = {"multipart_threshold": 1, "part_size": 10_000, "max_retries": 0}

    def lose_part_3(request: httpx.Request) -> Exception | None:
        lost = request.method == "PUT" and request.url.path.endswith("/parts/3")
        return httpx.ConnectError("connection reset", request=request) if lost else None

    failing = RecordingTransport(fail=lose_part_3)
    with pytest.raises(APIConnectionError):
        make_client(http_client=httpx.Client(transport=failing), **options).artifacts.upload(
            model_id, source, metadata={"via": "parts"}
        )

    recorder = RecordingTransport()
    client = make_client(http_client=httpx.Client(transport=recorder), **options)
    artifact = client.artifacts.upload(model_id, source, metadata={"via": "parts"})
    sent_parts = [p.rsplit("/", 1)[1] for p in recorder.paths("PUT")]
    assert sent_parts == ["3", "4"]  # parts 1 and 2 were already on the service
    assert not [p for p in recorder.paths("POST") if p.endswith("/uploads")]  # the same upload, continued
    assert (artifact.version, artifact.sha256, artifact.metadata) == (1, sha256(data), {"via": "parts"})
    assert client.artifacts.download(artifact.id).read_bytes() == data


def test_state_dict_uploads(make_client: Callable[..., Client], model_id: str) -> None:
    client = make_client()
    weight = torch.randn(8, 4)
    torch_dict = {"encoder.weight": weight, "decoder.weight": weight, "scale": torch.tensor([2.0])}  # tied
    artifact = client.artifacts.upload(model_id, state_dict=torch_dict, file_metadata={"format": "pt"})
    assert artifact.file_metadata == {"format": "pt"}
    loaded = client.artifacts.load(artifact.id, framework="torch")
    assert set(loaded) == set(torch_dict)
    for name, tensor in torch_dict.items():
        assert torch.equal(loaded[name], tensor)

    arrays: dict[str, np.ndarray] = {
        "w": np.arange(12, dtype=np.int64).reshape(3, 4),
        "b": np.ones(3, dtype=np.float16),
    }
    again = client.artifacts.upload(model_id, state_dict=arrays, kind="checkpoint")
    back = client.artifacts.load(again.id)
    for name, array in arrays.items():
        np.testing.assert_array_equal(back[name], array)
        assert back[name].dtype == array.dtype
