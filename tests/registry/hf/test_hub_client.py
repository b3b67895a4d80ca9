"""huggingface_hub, unchanged, against the live service: downloads, revisions, model info, listings, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
from huggingface_hub import HfApi, get_session, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.fixtures.services import LiveServer, NamespaceAccess, make_namespace
from tests.registry.hf.repos import SHAPES, push, sha256, weights

FILE = "model.safetensors"


def _download(server: LiveServer, repo: str, token: str, cache: Path, **kwargs: Any) -> bytes:
    path = hf_hub_download(repo, FILE, endpoint=server.url, token=token, cache_dir=cache, **kwargs)
    return Path(path).read_bytes()


def _requests_seen(monkeypatch: pytest.MonkeyPatch) -> list[httpx2.Response]:
    """The answers huggingface_hub's shared HTTP client receives from now to the end of the test."""
    seen: list[httpx2.Response] = []
    session = get_session()
    monkeypatch.setitem(session.event_hooks, "response", [*session.event_hooks["response"], seen.append])
    return seen


def test_cold_then_warm_cache_fetches_the_bytes_once(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = weights(0)
    with live_server.client(namespace.write_token) as client:
        push(client, namespace.name, "net", data)
    repo = f"{namespace.name}/net"
    seen = _requests_seen(monkeypatch)
    first = hf_hub_download(repo, FILE, endpoint=live_server.url, token=namespace.read_token, cache_dir=hf_cache)
    assert Path(first).read_bytes() == data
    assert [r.request.method for r in seen] == ["HEAD", "GET"]
    seen.clear()
    again = hf_hub_download(repo, FILE, endpoint=live_server.url, token=namespace.read_token, cache_dir=hf_cache)
    assert again == first
    assert [r.request.method for r in seen] == ["HEAD"]  # the warm cache asks whether main moved, nothing more


def test_main_versions_aliases_and_the_revision_sha(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path
) -> None:
    old, new = weights(1), weights(2)
    with live_server.client(namespace.write_token) as client:
        push(client, namespace.name, "net", old)
        push(client, namespace.name, "net", new)
        client.put(f"/v1/models/{namespace.name}/net/aliases/prod", json={"version": 1}).raise_for_status()
    repo, token = f"{namespace.name}/net", namespace.read_token
    api = HfApi(endpoint=live_server.url, token=token)
    assert _download(live_server, repo, token, hf_cache) == new
    assert _download(live_server, repo, token, hf_cache, revision="v1") == old
    assert _download(live_server, repo, token, hf_cache, revision="2") == new
    assert _download(live_server, repo, token, hf_cache, revision="prod") == old
    pinned = api.model_info(repo, revision="prod").sha
    assert pinned is not None and len(pinned) == 40 and int(pinned, 16) >= 0
    assert api.model_info(repo, revision="v1").sha == pinned != api.model_info(repo).sha
    assert _download(live_server, repo, token, hf_cache, revision=pinned) == old


def test_model_info_and_listings_describe_the_version(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path
) -> None:
    data = weights(3)
    with live_server.client(namespace.write_token) as client:
        push(client, namespace.name, "net", data)
    repo = f"{namespace.name}/net"
    api = HfApi(endpoint=live_server.url, token=namespace.read_token)
    info = api.model_info(repo)
    assert info.id == repo and info.author == namespace.name
    assert info.siblings is not None and [s.rfilename for s in info.siblings] == [FILE]
    sibling = info.siblings[0]
    assert sibling.size == len(data) and sibling.lfs is not None and sibling.lfs.sha256 == sha256(data)
    assert info.safetensors is not None
    assert info.safetensors.total == sum(a * b for a, b in [SHAPES["encoder.weight"], SHAPES["head.weight"]]) + 74
    assert info.card_data is None and info.last_modified is not None
    assert api.list_repo_files(repo) == [FILE]
    (entry,) = api.list_repo_tree(repo, recursive=True)
    assert entry.path == FILE and entry.size == len(data)
    assert entry.lfs is not None and entry.lfs.sha256 == sha256(data)  # type: ignore[union-attr]


def test_snapshot_download_holds_every_file_of_the_revision(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path
) -> None:
    data = weights(4)
    with live_server.client(namespace.write_token) as client:
        push(client, namespace.name, "net", data)
    repo = f"{namespace.name}/net"
    folder = Path(snapshot_download(repo, endpoint=live_server.url, token=namespace.read_token, cache_dir=hf_cache))
    assert sorted(p.name for p in folder.iterdir()) == [FILE]
    assert (folder / FILE).read_bytes() == data
    sha = HfApi(endpoint=live_server.url, token=namespace.read_token).model_info(repo).sha
    assert folder.name == sha  # the snapshot is filed under the revision sha the service handed out


def test_safetensors_metadata_reads_only_the_header(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = weights(5)
    assert len(data) > 100_001  # the client asks for the first 100 kB: a smaller file would be read whole
    with live_server.client(namespace.write_token) as client:
        push(client, namespace.name, "net", data)
    seen = _requests_seen(monkeypatch)
    api = HfApi(endpoint=live_server.url, token=namespace.read_token)
    metadata = api.get_safetensors_metadata(f"{namespace.name}/net")
    assert not metadata.sharded
    tensors = metadata.files_metadata[FILE].tensors
    assert {name: tuple(info.shape) for name, info in tensors.items()} == SHAPES
    assert {info.dtype for info in tensors.values()} == {"F32"}
    gets = [r for r in seen if r.request.method == "GET"]
    assert gets and all(r.request.headers["range"].startswith("bytes=") and r.status_code == 206 for r in gets)
    assert all(int(r.headers["content-length"]) <= 100_001 for r in gets)


def test_missing_repo_revision_and_file_raise_the_clients_own_errors(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path
) -> None:
    with live_server.client(namespace.write_token) as client:
        push(client, namespace.name, "net", weights(6))
    repo, token = f"{namespace.name}/net", namespace.read_token
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(f"{namespace.name}/absent", FILE, endpoint=live_server.url, token=token, cache_dir=hf_cache)
    with pytest.raises(RevisionNotFoundError, match="no version or alias"):
        hf_hub_download(repo, FILE, revision="v7", endpoint=live_server.url, token=token, cache_dir=hf_cache)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo, "config.json", endpoint=live_server.url, token=token, cache_dir=hf_cache)
    api = HfApi(endpoint=live_server.url, token=token)
    assert api.file_exists(repo, FILE) and not api.file_exists(repo, "config.json")
    with pytest.raises(RevisionNotFoundError, match="not a signature"):
        api.model_info(repo, revision="main+not/a/signature")


def test_a_namespace_the_token_cannot_read_is_a_missing_repo(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path
) -> None:
    with live_server.client(namespace.write_token) as client:
        push(client, namespace.name, "net", weights(7))
    repo = f"{namespace.name}/net"
    outsider = make_namespace(live_server, "other")
    for token in (outsider.read_token, None):
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download(repo, FILE, endpoint=live_server.url, token=token or False, cache_dir=hf_cache)
        with pytest.raises(RepositoryNotFoundError):
            HfApi(endpoint=live_server.url, token=token or False).model_info(repo)
    with pytest.raises(HfHubHTTPError, match="Invalid credentials"):
        HfApi(endpoint=live_server.url, token="phk_not-a-token").model_info(repo)


def test_writes_are_refused_naming_patchhub_push(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path, tmp_path: Path
) -> None:
    with live_server.client(namespace.write_token) as client:
        push(client, namespace.name, "net", weights(8))
    api = HfApi(endpoint=live_server.url, token=namespace.write_token)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(HfHubHTTPError, match="patchhub push"):
        api.upload_file(
            path_or_fileobj=tmp_path / "config.json", path_in_repo="config.json", repo_id=f"{namespace.name}/net"
        )
    with pytest.raises(HfHubHTTPError, match="patchhub push"):
        api.create_repo(f"{namespace.name}/new")
    with live_server.client(namespace.read_token) as client:
        assert client.get(f"/v1/models/{namespace.name}/net/artifacts").json()["items"][-1]["version"] == 1
