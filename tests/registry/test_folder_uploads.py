"""A version may be a model folder: pushed file by file, visible all at once, files listed and read back."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import numpy as np
from safetensors.numpy import load, save

from registry.db.session import transaction
from registry.models import FolderUpload
from registry.storage.gc import collect_garbage
from registry.storage.keys import blob_key
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model
from tests.registry.folder_helpers import INDEX, SHARD_1, SHARD_2, push_folder, sharded_folder


def test_a_folder_is_one_version_with_its_files(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    folder, tensors = sharded_folder()
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        artifact = push_folder(client, namespace.name, "net", folder)
        assert artifact["version"] == 1 and artifact["file_count"] == 5
        assert artifact["size"] == sum(len(data) for data in folder.values())
        assert artifact["tensor_count"] == len(tensors)
        listed = client.get(f"/v1/artifacts/{artifact['id']}/files").json()
        assert [f["path"] for f in listed] == sorted(folder)
        assert {f["path"]: f["sha256"] for f in listed} == {p: hashlib.sha256(d).hexdigest() for p, d in folder.items()}
        assert {f["path"]: f["kind"] for f in listed}[SHARD_2] == "safetensors"
        assert {f["path"]: f["kind"] for f in listed}["config.json"] == "other"
        for path, data in folder.items():
            got = client.get(f"/v1/artifacts/{artifact['id']}/files/{path}")
            assert got.status_code == 200 and got.content == data
            assert got.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
        part = client.get(f"/v1/artifacts/{artifact['id']}/files/{SHARD_2}", headers={"Range": "bytes=0-7"})
        assert part.status_code == 206 and part.content == folder[SHARD_2][:8]
        assert load(client.get(f"/v1/artifacts/{artifact['id']}/files/{SHARD_1}").content)[
            "embed.weight"
        ].tobytes() == (tensors["embed.weight"].tobytes())
        missing = client.get(f"/v1/artifacts/{artifact['id']}/files/nope.json")
        assert missing.status_code == 404
        whole = client.get(f"/v1/artifacts/{artifact['id']}/file")
        assert whole.status_code == 409 and "/files/" in whole.json()["detail"]


def test_the_tensor_index_covers_every_shard(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    folder, tensors = sharded_folder(seed=1)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        artifact = push_folder(client, namespace.name, "net", folder)
        index = client.get(f"/v1/artifacts/{artifact['id']}/tensors").json()
        by_name = {t["name"]: t for t in index["tensors"]}
        assert set(by_name) == set(tensors)
        assert by_name["embed.weight"]["file"] == SHARD_1 and by_name["head.bias"]["file"] == SHARD_2
        assert by_name["layer1.weight"]["shape"] == [8, 8]
        assert index["parameter_count"] == sum(t.size for t in tensors.values())


def test_one_file_versions_list_model_safetensors(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    data = tiny_model_bytes(seed=5)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        response = client.put(f"/v1/models/{namespace.name}/net/artifacts", params={"kind": "base"}, content=data)
        artifact = response.json()
        assert artifact["file_count"] == 1 and artifact["sha256"] == hashlib.sha256(data).hexdigest()
        listed = client.get(f"/v1/artifacts/{artifact['id']}/files").json()
        assert listed == [
            {"path": "model.safetensors", "size": len(data), "sha256": artifact["sha256"], "kind": "safetensors"}
        ]
        assert client.get(f"/v1/artifacts/{artifact['id']}/files/model.safetensors").content == data
        index = client.get(f"/v1/artifacts/{artifact['id']}/tensors").json()
        assert {t["file"] for t in index["tensors"]} == {"model.safetensors"}


def test_a_file_failing_mid_upload_leaves_nothing_visible(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    folder, _ = sharded_folder(seed=2)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload_id = client.post(f"/v1/models/{namespace.name}/net/folder-uploads", json={"kind": "base"}).json()["id"]
        client.put(f"/v1/folder-uploads/{upload_id}/files/{SHARD_1}", content=folder[SHARD_1]).raise_for_status()
        client.put(
            f"/v1/folder-uploads/{upload_id}/files/config.json", content=folder["config.json"]
        ).raise_for_status()
        truncated = client.put(f"/v1/folder-uploads/{upload_id}/files/{SHARD_2}", content=folder[SHARD_2][:-10])
        assert truncated.status_code == 422
        assert client.get(f"/v1/models/{namespace.name}/net/artifacts").json()["items"] == []
        files = [{"path": p, "sha256": hashlib.sha256(d).hexdigest()} for p, d in folder.items()]
        incomplete = client.post(f"/v1/folder-uploads/{upload_id}/complete", json={"files": files})
        assert incomplete.status_code == 422 and SHARD_2 in incomplete.json()["detail"]
        assert client.get(f"/v1/models/{namespace.name}/net/artifacts").json()["items"] == []
        state = client.get(f"/v1/folder-uploads/{upload_id}").json()
        assert sorted(f["path"] for f in state["files"]) == sorted([SHARD_1, "config.json"])
        # The client resumes with the files the server lacks, and the version appears whole.
        for path in sorted(set(folder) - {f["path"] for f in state["files"]}):
            client.put(f"/v1/folder-uploads/{upload_id}/files/{path}", content=folder[path]).raise_for_status()
        done = client.post(f"/v1/folder-uploads/{upload_id}/complete", json={"files": files})
        assert done.status_code == 201, done.text
        assert done.json()["file_count"] == len(folder)


def test_pickles_are_refused_with_how_to_convert(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload_id = client.post(f"/v1/models/{namespace.name}/net/folder-uploads", json={"kind": "base"}).json()["id"]
        for path in ("pytorch_model.bin", "model.pt", "weights.pth", "state.pkl", "last.ckpt"):
            refused = client.put(f"/v1/folder-uploads/{upload_id}/files/{path}", content=b"\x80\x04anything")
            assert refused.status_code == 422
            assert "safetensors.torch.save_file" in refused.json()["detail"]
        disguised = client.put(f"/v1/folder-uploads/{upload_id}/files/extra.json", content=b"\x80\x02}q\x00.")
        assert disguised.status_code == 422 and "pickle" in disguised.json()["detail"]
        zipped = b"PK\x03\x04" + b"\x00" * 26 + b"archive/data.pkl" + b"\x00" * 64
        torch_zip = client.put(f"/v1/folder-uploads/{upload_id}/files/weights.dat", content=zipped)
        assert torch_zip.status_code == 422 and "convert" in torch_zip.json()["detail"]
        assert client.get(f"/v1/folder-uploads/{upload_id}").json()["files"] == []


def test_files_that_are_not_safetensors_have_a_size_limit(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    settings = live_server.runtime.settings
    limit = settings.max_folder_file_bytes
    settings.max_folder_file_bytes = 1000
    try:
        with live_server.client(namespace.write_token) as client:
            create_model(client, namespace.name)
            upload_id = client.post(f"/v1/models/{namespace.name}/net/folder-uploads", json={"kind": "base"}).json()[
                "id"
            ]
            too_big = client.put(f"/v1/folder-uploads/{upload_id}/files/tokenizer.json", content=b"{" + b" " * 1000)
            assert too_big.status_code == 413
            assert "1000 bytes" in too_big.json()["detail"]
            fits = client.put(f"/v1/folder-uploads/{upload_id}/files/tokenizer.json", content=b"{" + b" " * 998 + b"}")
            assert fits.status_code == 200
            # Safetensors files are bounded by the upload limit, not this one.
            shard = save({"w": np.zeros((64, 64), dtype=np.float32)})
            assert (
                client.put(f"/v1/folder-uploads/{upload_id}/files/model.safetensors", content=shard).status_code == 200
            )
    finally:
        settings.max_folder_file_bytes = limit


def test_bad_folders_are_refused_whole(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    folder, _ = sharded_folder(seed=3)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        for path in ("../escape.json", "/abs.json", "a//b.json", ".git/config"):
            upload_id = client.post(f"/v1/models/{namespace.name}/net/folder-uploads", json={"kind": "base"}).json()[
                "id"
            ]
            assert client.put(f"/v1/folder-uploads/{upload_id}/files/{path}", content=b"{}").status_code in (404, 422)
        wrong_index = {**folder, INDEX: b'{"weight_map": {"embed.weight": "model-00002-of-00002.safetensors"}}'}
        upload_id = client.post(f"/v1/models/{namespace.name}/net/folder-uploads", json={"kind": "base"}).json()["id"]
        for path, data in wrong_index.items():
            client.put(f"/v1/folder-uploads/{upload_id}/files/{path}", content=data).raise_for_status()
        files = [{"path": p, "sha256": hashlib.sha256(d).hexdigest()} for p, d in wrong_index.items()]
        refused = client.post(f"/v1/folder-uploads/{upload_id}/complete", json={"files": files})
        assert refused.status_code == 422 and "embed.weight" in refused.json()["detail"]
        assert client.get(f"/v1/models/{namespace.name}/net/artifacts").json()["items"] == []
        signature = client.post(f"/v1/models/{namespace.name}/net/folder-uploads", json={"kind": "rws"})
        assert signature.status_code == 422 and "patchhub push FILE" in signature.json()["detail"]


def test_gc_keeps_folder_files_and_live_uploads_and_drops_expired_ones(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    store = live_server.runtime.store
    folder, _ = sharded_folder(seed=4)
    pending = b'{"pending": "' + namespace.name.encode() + b'"}'
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        push_folder(client, namespace.name, "net", folder)
        upload_id = client.post(f"/v1/models/{namespace.name}/net/folder-uploads", json={"kind": "base"}).json()["id"]
        client.put(f"/v1/folder-uploads/{upload_id}/files/pending.json", content=pending).raise_for_status()
    collect_garbage(live_server.runtime.session_factory, store, timedelta(0))
    for data in [*folder.values(), pending]:
        assert store.exists(blob_key(hashlib.sha256(data).hexdigest()))
    with transaction(live_server.runtime.session_factory) as session:
        upload = session.get(FolderUpload, upload_id)
        assert upload is not None
        upload.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    report = collect_garbage(live_server.runtime.session_factory, store, timedelta(0))
    assert report.uploads_expired >= 1
    assert not store.exists(blob_key(hashlib.sha256(pending).hexdigest()))
    assert all(store.exists(blob_key(hashlib.sha256(data).hexdigest())) for data in folder.values())


def test_two_completes_at_once_make_one_version(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    folder, _ = sharded_folder(seed=5)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload_id = client.post(f"/v1/models/{namespace.name}/net/folder-uploads", json={"kind": "base"}).json()["id"]
        for path, data in folder.items():
            client.put(f"/v1/folder-uploads/{upload_id}/files/{path}", content=data).raise_for_status()
    files = [{"path": p, "sha256": hashlib.sha256(d).hexdigest()} for p, d in folder.items()]

    def complete() -> int:
        with live_server.client(namespace.write_token) as client:
            return client.post(f"/v1/folder-uploads/{upload_id}/complete", json={"files": files}).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(lambda _: complete(), range(4)))
    assert codes == [201, 409, 409, 409]
    with live_server.client(namespace.write_token) as client:
        assert [a["version"] for a in client.get(f"/v1/models/{namespace.name}/net/artifacts").json()["items"]] == [1]


def test_jobs_refuse_a_folder_version_as_input(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    folder, _ = sharded_folder(seed=6)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        artifact = push_folder(client, namespace.name, "net", folder)
        refused = client.post(
            "/v1/jobs", json={"kind": "evaluate", "namespace": namespace.name, "params": {"artifact": artifact["id"]}}
        )
        assert refused.status_code == 422, refused.text
        assert "params.artifact" in refused.json()["detail"] and "model folder" in refused.json()["detail"]
        assert client.get("/v1/jobs", params={"namespace": namespace.name}).json()["items"] == []
