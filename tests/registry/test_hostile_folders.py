"""Hostile model folders against a live server: paths that escape or cannot be files, too many or too large
files, safetensors headers that lie, pickles under other names and shard indexes that disagree with the
shards. Each is a clear 4xx ``{"error", "detail"}`` (never a 500, never a hang) and changes nothing stored:
the upload's files, the blob store and the model's versions stay as they were."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import pickle
import struct
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlparse

import httpx
import numpy as np
import pytest
import torch
from sqlalchemy import func, select

from patchhub.signature import quantize_signature
from registry.db.base import utcnow
from registry.db.session import transaction
from registry.models import ArtifactFile, FolderUploadFile
from registry.storage.folder_files import MAX_FOLDER_FILES
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, stored_blob_keys
from tests.registry.folder_helpers import INDEX, SHARD_1, SHARD_2, SHARDED_SHAPES, push_folder, sharded_folder
from tests.registry.range_checks import check_malformed_ranges

HOSTILE_PATHS = {
    "parent segment": "../escape.json",
    "parent after a folder": "tokenizer/../../escape.json",
    "absolute": "/etc/escape.json",
    "backslash": "tokenizer\\..\\escape.json",
    "drive letter": "C:\\escape.json",
    "NUL": "escape\x00.json",
    "newline": "escape\n.json",
    "escape character": "escape\x1b[2J.json",
    "right-to-left override": "nosj.\u202eescape",
    "dot segment": "./escape.json",
    "empty segment": "tokenizer//escape.json",
    "trailing slash": "tokenizer/",
    "git internals": ".git/config",
    "path over 255 characters": "a/" * 127 + "ab",
    "segment over 255 bytes": "\u00e9" * 130 + ".json",  # 130 characters, 265 bytes: no file system takes the name
}
# Request targets sent as they are: percent-encoded traversal the server decodes once.
RAW_TARGETS = {
    "%2e%2e%2f": "%2e%2e%2fescape.json",
    "%2E%2E/ in a folder": "tokenizer/%2E%2E/%2E%2E/escape.json",
    "..%2f": "..%2fescape.json",
    "literal ..": "../../escape.json",
    "%2f absolute": "%2fetc%2fescape.json",
    "%5c": "..%5cescape.json",
    "%00": "escape%00.json",
}


def assert_refused(answer: httpx.Response, *statuses: int) -> None:
    assert answer.status_code in statuses, (answer.status_code, answer.text)
    assert set(answer.json()) == {"error", "detail"}, answer.text


def start_upload(client: httpx.Client, namespace: str, name: str = "net") -> str:
    answer = client.post(f"/v1/models/{namespace}/{name}/folder-uploads", json={"kind": "base"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def put_file(client: httpx.Client, upload_id: str, path: str, data: bytes) -> httpx.Response:
    return client.put(f"/v1/folder-uploads/{upload_id}/files/{quote(path)}", content=data)


def stored_paths(client: httpx.Client, upload_id: str) -> list[str]:
    return [f["path"] for f in client.get(f"/v1/folder-uploads/{upload_id}").json()["files"]]


def put_raw(server: LiveServer, token: str, target: str, body: bytes) -> tuple[int, dict[str, str]]:
    """A PUT whose request target goes out byte for byte (httpx would resolve '..' before sending)."""
    url = urlparse(server.url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    try:
        connection.request("PUT", target, body=body, headers={"Authorization": f"Bearer {token}"})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def files_named_escape(server: LiveServer) -> list[str]:
    root = server.runtime.settings.data_dir.parent
    return [str(path) for path in root.rglob("escape*")]


def version_count(client: httpx.Client, namespace: str, name: str = "net") -> int:
    return len(client.get(f"/v1/models/{namespace}/{name}/artifacts").json()["items"])


def artifact_file_rows(server: LiveServer) -> int:
    with transaction(server.runtime.session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(ArtifactFile)) or 0)


def listing(folder: dict[str, bytes]) -> list[dict[str, str]]:
    return [{"path": path, "sha256": hashlib.sha256(data).hexdigest()} for path, data in folder.items()]


def test_hostile_file_paths_are_refused_and_store_nothing(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload_id = start_upload(client, namespace.name)
        blobs = stored_blob_keys(live_server)
        for what, path in HOSTILE_PATHS.items():
            answer = client.put(f"/v1/folder-uploads/{upload_id}/files/{quote(path, safe='')}", content=b"{}")
            # A newline cannot be in a path parameter at all: no route matches (404); the others are 422.
            assert answer.status_code == (404 if "\n" in path else 422), (what, answer.text)
            assert set(answer.json()) == {"error", "detail"}, what
        for what, target in RAW_TARGETS.items():
            status, body = put_raw(
                live_server, namespace.write_token, f"/v1/folder-uploads/{upload_id}/files/{target}", b"{}"
            )
            assert status == 422 and set(body) == {"error", "detail"}, (what, status, body)
        assert stored_paths(client, upload_id) == []
        assert stored_blob_keys(live_server) == blobs
        assert files_named_escape(live_server) == []
        # The same upload still takes ordinary paths, nested ones and a name of 255 bytes.
        for path in ("tokenizer/vocab.txt", "%2e%2e%2f.json", "n" * 250 + ".json"):
            assert put_file(client, upload_id, path, b"{}").status_code == 200, path
        assert stored_paths(client, upload_id) == sorted(["tokenizer/vocab.txt", "%2e%2e%2f.json", "n" * 250 + ".json"])


def test_paths_that_clash_on_disk_are_refused_at_complete(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    """Two paths that one checkout cannot hold both (a case-only twin on macOS and Windows, a file where another
    file needs a folder) would make snapshot_download lose a file: the folder is refused."""
    clashes = {
        "case-only twin": {"Config.json": b'{"a": 1}'},
        "case-only twin folder": {"Tokenizer/vocab.txt": b"a", "tokenizer/merges.txt": b"b"},
        "file and folder": {"tokenizer": b"a", "tokenizer/vocab.txt": b"b"},
    }
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        rows = artifact_file_rows(live_server)
        for what, extra in clashes.items():
            folder = {**sharded_folder(seed=3)[0], **extra}
            upload_id = start_upload(client, namespace.name)
            for path, data in folder.items():
                put_file(client, upload_id, path, data).raise_for_status()
            answer = client.post(f"/v1/folder-uploads/{upload_id}/complete", json={"files": listing(folder)})
            assert_refused(answer, 422)
            assert stored_paths(client, upload_id) == sorted(folder), what
        assert version_count(client, namespace.name) == 0
        assert artifact_file_rows(live_server) == rows


def test_a_listing_that_is_not_the_stored_files_is_refused(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    folder, _ = sharded_folder(seed=4)
    files = listing(folder)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload_id = start_upload(client, namespace.name)
        for path, data in folder.items():
            put_file(client, upload_id, path, data).raise_for_status()
        sent_twice = put_file(client, upload_id, "config.json", folder["config.json"])  # the same path again
        assert sent_twice.status_code == 200 and stored_paths(client, upload_id) == sorted(folder)
        complete = f"/v1/folder-uploads/{upload_id}/complete"
        for body in (
            {"files": [*files, files[0]]},  # a path listed twice
            {"files": [*files, {"path": "never-sent.json", "sha256": "0" * 64}]},
            {"files": files[1:]},  # a stored file left out
            {"files": [{**files[0], "sha256": "f" * 64}, *files[1:]]},  # other bytes than stored
            {"files": [*files, {"path": "x" * 256, "sha256": "0" * 64}]},
            {"files": [{"path": f"f{i}", "sha256": "0" * 64} for i in range(MAX_FOLDER_FILES + 1)]},
            {"files": []},
        ):
            assert_refused(client.post(complete, json=body), 422)
        assert version_count(client, namespace.name) == 0
        assert client.get(f"/v1/folder-uploads/{upload_id}").json()["artifact_id"] is None
        assert client.post(complete, json={"files": files}).status_code == 201  # the honest listing still completes


def seed_files(server: LiveServer, upload_id: str, count: int) -> None:
    """The upload's first ``count`` files, stored directly (sending a thousand over HTTP takes long)."""
    with transaction(server.runtime.session_factory) as session:
        session.add_all(
            FolderUploadFile(
                upload_id=upload_id,
                path=f"vocab/{i:04d}.txt",
                sha256=hashlib.sha256(b"%d" % i).hexdigest(),
                size=1,
                kind="other",
                tensor_index={},
                file_metadata={},
                created_at=utcnow(),
            )
            for i in range(count)
        )


def test_a_folder_holds_at_most_the_file_limit(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload_id = start_upload(client, namespace.name)
        seed_files(live_server, upload_id, MAX_FOLDER_FILES)
        blobs = stored_blob_keys(live_server)
        over = put_file(client, upload_id, "vocab/one-too-many.txt", b"x")
        assert_refused(over, 422)
        assert str(MAX_FOLDER_FILES) in over.json()["detail"]
        assert stored_blob_keys(live_server) == blobs
        assert len(stored_paths(client, upload_id)) == MAX_FOLDER_FILES
        assert put_file(client, upload_id, "vocab/0000.txt", b"0").status_code == 200  # replacing one still works


def test_parallel_files_do_not_pass_the_file_limit(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    """Files sent at once while the folder has room for one: one is stored, the others are refused (otherwise
    the upload holds more files than complete may list, and can never complete)."""
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload_id = start_upload(client, namespace.name)
    seed_files(live_server, upload_id, MAX_FOLDER_FILES - 1)

    def put(index: int) -> int:
        def slow_body() -> Iterator[bytes]:  # every PUT is past the room check before any is recorded
            yield b"{"
            time.sleep(0.3)
            yield b"}"

        with live_server.client(namespace.write_token) as client:
            url = f"/v1/folder-uploads/{upload_id}/files/extra/{index}.json"
            return client.put(url, content=slow_body()).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(put, range(8)))
    with live_server.client(namespace.write_token) as client:
        assert len(stored_paths(client, upload_id)) <= MAX_FOLDER_FILES, statuses
    assert statuses.count(200) == 1 and set(statuses) <= {200, 422}, statuses


def test_files_over_the_size_limits_are_413(
    live_server: LiveServer, namespace: NamespaceAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_server.runtime.settings, "max_folder_file_bytes", 512)
    monkeypatch.setattr(live_server.runtime.settings, "max_upload_bytes", 512)
    folder, _ = sharded_folder(seed=5)
    assert len(folder[SHARD_1]) > 512

    def streamed(data: bytes) -> Iterator[bytes]:  # no Content-Length: the limit holds while it streams
        for start in range(0, len(data), 300):
            yield data[start : start + 300]

    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload_id = start_upload(client, namespace.name)
        blobs = stored_blob_keys(live_server)
        for path, data in (("tokenizer.json", b"x" * 513), (SHARD_1, folder[SHARD_1])):
            assert_refused(put_file(client, upload_id, path, data), 413)
            url = f"/v1/folder-uploads/{upload_id}/files/{path}"
            assert_refused(client.put(url, content=streamed(data)), 413)
        assert stored_paths(client, upload_id) == []
        assert stored_blob_keys(live_server) == blobs
        assert put_file(client, upload_id, "tokenizer.json", b"x" * 512).status_code == 200  # at the limit


def _safetensors(header: object, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _torch_file(**options: bool) -> bytes:
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(4)}, buffer, **options)  # type: ignore[arg-type]
    return buffer.getvalue()


F32_4 = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}
LYING_SHARDS = {
    "header length past the end": struct.pack("<Q", 1000) + b"{}",
    "header length of 2**63": struct.pack("<Q", 2**63) + b"{}",
    "offsets past the data": _safetensors({"w": F32_4}, b"\0" * 8),
    "shape that does not fill its bytes": _safetensors({"w": {**F32_4, "shape": [3]}}, b"\0" * 16),
    "negative shape": _safetensors({"w": {**F32_4, "shape": [-4]}}, b"\0" * 16),
    "header is a list": _safetensors([F32_4], b""),
    "bytes past the last tensor": _safetensors({"w": F32_4}, b"\0" * 32),
    "pickle renamed": pickle.dumps({"weight": [0.0] * 4}, protocol=4),
    "torch.save renamed": _torch_file(),
}
PICKLED_CONFIGS = {
    "pickle protocol 2": pickle.dumps({"model_type": "bert"}, protocol=2),
    "pickle protocol 5": pickle.dumps({"model_type": "bert"}, protocol=5),
    "torch.save zip": _torch_file(),
    "legacy torch.save": _torch_file(_use_new_zipfile_serialization=False),
}


def test_lying_shards_and_renamed_pickles_are_refused(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload_id = start_upload(client, namespace.name)
        blobs = stored_blob_keys(live_server)
        for what, data in LYING_SHARDS.items():
            answer = put_file(client, upload_id, SHARD_1, data)
            assert answer.status_code == 422 and set(answer.json()) == {"error", "detail"}, (what, answer.text)
        for what, data in PICKLED_CONFIGS.items():
            for path in ("config.json", "tokenizer/vocab.txt"):
                answer = put_file(client, upload_id, path, data)
                assert answer.status_code == 422 and "pickle" in answer.json()["detail"], (what, path, answer.text)
        assert stored_paths(client, upload_id) == []
        assert stored_blob_keys(live_server) == blobs


def _index(weight_map: object) -> bytes:
    return json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}).encode()


def _bad_indexes() -> dict[str, bytes]:
    weight_map = json.loads(sharded_folder()[0][INDEX])["weight_map"]
    return {
        "a shard that is not there": _index({**weight_map, "head.bias": "model-00003-of-00003.safetensors"}),
        "a tensor no shard holds": _index({**weight_map, "ghost.weight": SHARD_2}),
        "a tensor in the wrong shard": _index({**weight_map, "embed.weight": SHARD_2}),
        "a tensor left out": _index({k: v for k, v in weight_map.items() if k != "head.bias"}),
        "a shard outside the folder": _index({**weight_map, "head.bias": f"../{SHARD_2}"}),
        "shard names that are not strings": _index(dict.fromkeys(weight_map, 2)),
        "weight_map a list": _index(list(weight_map)),
        "no weight_map": json.dumps({"metadata": {}}).encode(),
        "a JSON list": b"[1, 2]",
        "not JSON": b"\xff\xfe not json",
        "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
        "weight_map nested 100,000 deep": b'{"weight_map": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    }


def test_a_shard_index_that_disagrees_with_the_shards_is_refused(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        rows = artifact_file_rows(live_server)
        for what, index in _bad_indexes().items():
            folder = {**sharded_folder(seed=6)[0], INDEX: index}
            upload_id = start_upload(client, namespace.name)
            for path, data in folder.items():
                put_file(client, upload_id, path, data).raise_for_status()
            answer = client.post(f"/v1/folder-uploads/{upload_id}/complete", json={"files": listing(folder)})
            assert answer.status_code == 422 and set(answer.json()) == {"error", "detail"}, (what, answer.text)
            assert INDEX in answer.json()["detail"], what
            assert stored_paths(client, upload_id) == sorted(folder), what
            assert client.get(f"/v1/folder-uploads/{upload_id}").json()["artifact_id"] is None
        assert version_count(client, namespace.name) == 0
        assert artifact_file_rows(live_server) == rows


def test_malformed_ranges_and_paths_on_folder_files_and_composed_shards(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    folder, _ = sharded_folder(seed=8)
    shape = SHARDED_SHAPES[SHARD_2]["layer1.weight"]
    delta = {"layer1.weight": np.full(shape, 0.01, dtype=np.float32)}
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name, arch="tiny")
        create_model(client, namespace.name, name="fog", arch="tiny")
        artifact = push_folder(client, namespace.name, "net", folder)
        fog = client.put(
            f"/v1/models/{namespace.name}/fog/artifacts",
            params={"kind": "rws"},
            content=quantize_signature(delta, bits=8, metadata={"arch": "tiny"}).to_bytes(),
        ).json()
        recipe = {"base": artifact["id"], "patches": [{"artifact": fog["id"], "scale": 0.5}]}
        composition = client.post("/v1/compositions", json=recipe).json()["id"]
        check_malformed_ranges(client, f"/v1/artifacts/{artifact['id']}/files/{SHARD_2}", folder[SHARD_2])
        shard_url = f"/v1/compositions/{composition}/files/{SHARD_2}"
        composed = client.get(shard_url, headers={"Range": "bytes=--1"}).content  # computed on this request
        assert len(composed) == len(folder[SHARD_2]) and composed != folder[SHARD_2]
        check_malformed_ranges(client, shard_url, composed)
        for target in ("%2e%2e%2fconfig.json", "..%5cconfig.json", "CONFIG.JSON", "config.json%00", "x" * 5000):
            for prefix in (f"/v1/artifacts/{artifact['id']}", f"/v1/compositions/{composition}"):
                answer = client.get(f"{prefix}/files/{target}")
                assert_refused(answer, 404, 422)
