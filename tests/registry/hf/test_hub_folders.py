"""A model folder as a Hub repository: every file listed and served, the card's metadata, sharded safetensors
metadata, and compositions whose signature spans two shards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from huggingface_hub import HfApi, snapshot_download
from safetensors.numpy import load, save

import patchhub
from patchhub.signature import quantize_signature
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.hf.repos import push, sha256

SHARDS = {
    "model-00001-of-00002.safetensors": {"embed.weight": (50, 16), "layer0.weight": (16, 16)},
    "model-00002-of-00002.safetensors": {"layer1.weight": (16, 16), "head.weight": (4, 16), "head.bias": (4,)},
}
CARD = "---\nlicense: apache-2.0\nlibrary_name: transformers\ntags:\n- robust\n---\n# Tiny\n"


def _folder(root: Path) -> dict[str, bytes]:
    """A save_pretrained-like folder; returns its files' bytes by path."""
    rng = np.random.default_rng(0)
    contents: dict[str, bytes] = {}
    weight_map = {}
    for shard, shapes in SHARDS.items():
        tensors = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}
        contents[shard] = save(tensors, metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(shapes, shard))
    index = {"metadata": {"total_size": 4 * sum(int(np.prod(s)) for v in SHARDS.values() for s in v.values())}}
    contents["model.safetensors.index.json"] = json.dumps({**index, "weight_map": weight_map}).encode()
    contents["config.json"] = b'{"model_type": "tiny"}'
    contents["README.md"] = CARD.encode()
    contents["tokenizer/vocab.txt"] = b"[PAD]\n[UNK]\nhello\n"
    for path, data in contents.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return contents


def _push_folder(server: LiveServer, namespace: NamespaceAccess, root: Path) -> dict[str, bytes]:
    contents = _folder(root)
    with patchhub.Client(server.url, namespace.write_token, progress=False) as client:
        client.models.create(f"{namespace.name}/tiny", arch="mlp")
        client.artifacts.push_folder(f"{namespace.name}/tiny", root, kind="base")
    return contents


def test_every_file_of_a_folder_is_listed_and_served(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path, tmp_path: Path
) -> None:
    contents = _push_folder(live_server, namespace, tmp_path / "tiny")
    repo = f"{namespace.name}/tiny"
    api = HfApi(endpoint=live_server.url, token=namespace.read_token)
    info = api.model_info(repo)
    assert {s.rfilename: (s.size, s.lfs and s.lfs.sha256) for s in info.siblings or []} == {
        path: (len(data), sha256(data)) for path, data in contents.items()
    }
    assert info.card_data is not None and info.card_data.license == "apache-2.0"
    assert info.library_name == "transformers" and "robust" in (info.tags or [])
    assert sorted(api.list_repo_files(repo)) == sorted(contents)
    top = {entry.path: type(entry).__name__ for entry in api.list_repo_tree(repo)}
    assert top["tokenizer"] == "RepoFolder" and "tokenizer/vocab.txt" not in top
    assert [entry.path for entry in api.list_repo_tree(repo, path_in_repo="tokenizer")] == ["tokenizer/vocab.txt"]

    metadata = api.get_safetensors_metadata(repo)
    assert metadata.sharded and set(metadata.files_metadata) == set(SHARDS)
    assert metadata.weight_map["head.bias"] == "model-00002-of-00002.safetensors"

    folder = Path(snapshot_download(repo, endpoint=live_server.url, token=namespace.read_token, cache_dir=hf_cache))
    assert {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == contents


def test_a_composition_of_a_sharded_base_composes_the_shards_it_touches(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path, tmp_path: Path
) -> None:
    contents = _push_folder(live_server, namespace, tmp_path / "tiny")
    ns = namespace.name
    rng = np.random.default_rng(1)
    deltas = {
        name: (0.1 * rng.standard_normal(SHARDS[shard][name])).astype(np.float32)
        for shard, name in [
            ("model-00001-of-00002.safetensors", "layer0.weight"),
            ("model-00002-of-00002.safetensors", "layer1.weight"),
        ]
    }
    signature = quantize_signature(deltas, bits=32, metadata={"arch": "mlp"})
    with live_server.client(namespace.write_token) as client:
        push(client, ns, "rws-fog", signature.to_bytes(), kind="rws")
        created = client.post(
            "/v1/compositions",
            json={"base": f"{ns}/tiny@v1", "patches": [{"artifact": f"{ns}/rws-fog", "scale": -0.5}]},
        ).json()
        served = {path: client.get(f"/v1/compositions/{created['id']}/files/{path}").content for path in contents}

    revision = f"v1+{ns}~rws-fog=-0.5"
    folder = Path(
        snapshot_download(
            f"{ns}/tiny", revision=revision, endpoint=live_server.url, token=namespace.read_token, cache_dir=hf_cache
        )
    )
    assert folder.name == created["id"][:40]
    downloaded = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert downloaded == served and set(downloaded) == set(contents)
    for path in ("config.json", "README.md", "tokenizer/vocab.txt", "model.safetensors.index.json"):
        assert downloaded[path] == contents[path]
    for shard, name in [
        ("model-00001-of-00002.safetensors", "layer0.weight"),
        ("model-00002-of-00002.safetensors", "layer1.weight"),
    ]:
        base, composed = load(contents[shard]), load(downloaded[shard])
        np.testing.assert_allclose(
            composed[name], base[name] - np.float32(0.5) * signature.delta(name), rtol=1e-6, atol=1e-7
        )
        untouched = [other for other in base if other != name]
        assert all(np.array_equal(composed[other], base[other]) for other in untouched)


def test_paths_info_answers_for_the_paths_that_exist(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path, tmp_path: Path
) -> None:
    contents = _push_folder(live_server, namespace, tmp_path / "tiny")
    api = HfApi(endpoint=live_server.url, token=namespace.read_token)
    found = api.get_paths_info(f"{namespace.name}/tiny", ["config.json", "tokenizer", "absent.txt"])
    assert [(type(entry).__name__, entry.path) for entry in found] == [
        ("RepoFile", "config.json"),
        ("RepoFolder", "tokenizer"),
    ]
    assert found[0].size == len(contents["config.json"])  # type: ignore[union-attr]
