"""``client.artifacts.push_folder`` and ``patchhub push DIR``: a model folder becomes one version, all files
or none; pickles are refused before anything is sent."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from patchhub import Client
from patchhub.cli import main
from patchhub.errors import APIConnectionError, NotSafetensorsError
from tests.client.conftest import RecordingTransport
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.folder_helpers import SHARD_1, SHARD_2, sharded_folder


def _write(directory: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(data)
    return directory


def _folder(tmp_path: Path, seed: int = 0) -> tuple[Path, dict[str, bytes]]:
    files, _ = sharded_folder(seed)
    files["tokenizer/vocab.txt"] = b"[PAD]\n[UNK]\nhello\n"
    (tmp_path / "model" / ".cache").mkdir(parents=True)
    (tmp_path / "model" / ".cache" / "download.lock").write_bytes(b"")  # huggingface_hub's bookkeeping: skipped
    return _write(tmp_path / "model", files), files


def _stored_files(live_server: LiveServer, token: str, artifact_id: str) -> dict[str, bytes]:
    with live_server.client(token) as client:
        listed = client.get(f"/v1/artifacts/{artifact_id}/files").json()
        return {f["path"]: client.get(f"/v1/artifacts/{artifact_id}/files/{f['path']}").content for f in listed}


def test_push_folder_makes_one_version_of_every_file(
    make_client: Callable[..., Client],
    model_id: str,
    live_server: LiveServer,
    namespace: NamespaceAccess,
    tmp_path: Path,
) -> None:
    directory, files = _folder(tmp_path)
    artifact = make_client().artifacts.push_folder(model_id, directory, metadata={"source": "save_pretrained"})
    assert artifact.version == 1 and artifact.metadata == {"source": "save_pretrained"}
    assert artifact.size == sum(len(data) for data in files.values())
    assert _stored_files(live_server, namespace.write_token, artifact.id) == files
    assert artifact.file_count == len(files)
    index = make_client().artifacts.tensors(artifact.id)
    assert {t.name: t.file for t in index.tensors} == {
        "embed.weight": SHARD_1,
        "layer0.weight": SHARD_1,
        "layer1.weight": SHARD_2,
        "head.weight": SHARD_2,
        "head.bias": SHARD_2,
    }


def test_download_writes_the_folder_through_the_cache(
    make_client: Callable[..., Client], model_id: str, tmp_path: Path
) -> None:
    directory, files = _folder(tmp_path, seed=4)
    client = make_client()
    artifact = client.artifacts.push_folder(model_id, directory)
    with pytest.raises(ValueError, match="model folder"):
        client.artifacts.download(artifact.id)
    target = client.artifacts.download(artifact.ref, f"{tmp_path}/out/")
    assert target == tmp_path / "out" / f"{model_id.split('/')[1]}-v1"
    written = {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert written == files
    # Files already in the cache are not fetched again, by this version or another holding them.
    recorder = RecordingTransport()
    again = make_client(http_client=httpx.Client(transport=recorder)).artifacts.download(
        artifact.id, tmp_path / "again"
    )
    assert again == tmp_path / "again" and not [p for p in recorder.paths("GET") if "/files/" in p]


def test_a_push_failing_midway_leaves_no_version(
    make_client: Callable[..., Client], model_id: str, tmp_path: Path
) -> None:
    directory, _files = _folder(tmp_path, seed=1)

    def lose_second_shard(request: httpx.Request) -> Exception | None:
        lost = request.method == "PUT" and request.url.path.endswith(SHARD_2)
        return httpx.ConnectError("connection reset", request=request) if lost else None

    failing = RecordingTransport(fail=lose_second_shard)
    client = make_client(http_client=httpx.Client(transport=failing), max_retries=0)
    with pytest.raises(APIConnectionError):
        client.artifacts.push_folder(model_id, directory)
    assert any(path.endswith("config.json") for path in failing.paths("PUT"))  # some files did go up
    assert list(make_client().artifacts.list(model_id)) == []
    # Running the same push again continues that upload: only the files the service lacks are sent.
    recorder = RecordingTransport()
    again = make_client(http_client=httpx.Client(transport=recorder)).artifacts.push_folder(model_id, directory)
    assert again.version == 1 and again.file_count == len(_files)
    assert not [p for p in recorder.paths("POST") if p.endswith("/folder-uploads")]
    resent = sorted(p.split("/files/", 1)[1] for p in recorder.paths("PUT"))
    sent_before = {p.split("/files/", 1)[1] for p in failing.paths("PUT") if not p.endswith(SHARD_2)}
    assert SHARD_2 in resent and not sent_before & set(resent)
    assert sorted(p.split("/files/", 1)[1] for p in {*failing.paths("PUT"), *recorder.paths("PUT")}) == sorted(_files)


def test_pickles_are_refused_before_anything_is_sent(
    make_client: Callable[..., Client], model_id: str, tmp_path: Path
) -> None:
    directory, _ = _folder(tmp_path, seed=2)
    (directory / "pytorch_model.bin").write_bytes(b"\x80\x04pickled")
    recorder = RecordingTransport()
    with pytest.raises(NotSafetensorsError, match="save_file"):
        make_client(http_client=httpx.Client(transport=recorder)).artifacts.push_folder(model_id, directory)
    assert recorder.requests == []


def test_cli_push_dir(
    live_server: LiveServer,
    namespace: NamespaceAccess,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATCHHUB_URL", live_server.url)
    monkeypatch.setenv("PATCHHUB_TOKEN", namespace.write_token)
    monkeypatch.setenv("PATCHHUB_CACHE", str(tmp_path / "cache"))
    model = f"{namespace.name}/folder-{uuid.uuid4().hex[:6]}"
    assert main(["models", "create", model, "--arch", "tiny"]) == 0
    directory, files = _folder(tmp_path, seed=3)
    capsys.readouterr()
    assert main(["push", str(directory), model]) == 0
    out = capsys.readouterr().out
    assert f"Pushed {model}@v1 base" in out
    with live_server.client(namespace.write_token) as client:
        artifact = client.get(f"/v1/models/{model}/artifacts/latest").json()
    stored = _stored_files(live_server, namespace.write_token, artifact["id"])
    assert {path: hashlib.sha256(data).hexdigest() for path, data in stored.items()} == {
        path: hashlib.sha256(data).hexdigest() for path, data in files.items()
    }
    assert main(["pull", model, "-o", str(tmp_path / "pulled")]) == 0
    pulled = tmp_path / "pulled"
    assert capsys.readouterr().out.strip() == str(pulled)
    assert {p.relative_to(pulled).as_posix(): p.read_bytes() for p in pulled.rglob("*") if p.is_file()} == files
