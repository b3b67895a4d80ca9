"""Compositions as revisions: huggingface_hub downloads base + scaled signatures, the very bytes of /v1/compositions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import RevisionNotFoundError
from safetensors.numpy import load

from patchhub.hf_revisions import composition_revision
from tests.fixtures.services import LiveServer, NamespaceAccess, make_namespace
from tests.registry.artifact_helpers import wait_until
from tests.registry.hf.repos import base_tensors, push, sha256, signature, weights

FILE = "model.safetensors"


def test_a_recipe_revision_downloads_the_composed_weights(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path
) -> None:
    ns = namespace.name
    fog_bytes, fog = signature(["encoder.weight", "head.bias"], 1)
    snow_bytes, snow = signature(["encoder.weight"], 2)
    with live_server.client(namespace.write_token) as client:
        push(client, ns, "net", weights(10))
        push(client, ns, "fog", fog_bytes, kind="rws")
        snow_id = push(client, ns, "snow", snow_bytes, kind="rws")["id"]
        recipe = {"base": f"{ns}/net@v1", "patches": [{"artifact": f"{ns}/fog@v1", "scale": 0.5}]}
        recipe["patches"].append({"artifact": snow_id, "scale": -1.25})
        created = client.post("/v1/compositions", json=recipe).json()
        expected = client.get(f"/v1/compositions/{created['id']}/file").content
    revision = composition_revision("v1", [(f"{ns}/fog@v1", 0.5), (snow_id, -1.25)])
    assert revision == f"v1+{ns}~fog@v1=0.5+{snow_id}=-1.25"

    repo, token = f"{ns}/net", namespace.read_token
    path = hf_hub_download(repo, FILE, revision=revision, endpoint=live_server.url, token=token, cache_dir=hf_cache)
    composed = Path(path).read_bytes()
    assert composed == expected
    tensors, base = load(composed), base_tensors(10)
    by_hand = (
        base["encoder.weight"] + np.float32(0.5) * fog["encoder.weight"] - np.float32(1.25) * snow["encoder.weight"]
    )
    np.testing.assert_allclose(tensors["encoder.weight"], by_hand, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(tensors["head.weight"], base["head.weight"])

    api = HfApi(endpoint=live_server.url, token=token)
    sha = api.model_info(repo, revision=revision).sha
    assert sha == created["id"][:40]
    for same in (created["id"], sha, f"main+{snow_id}=-1.25+{ns}~fog@v1=0.5"):  # the id, the sha, another order
        assert api.model_info(repo, revision=same).sha == sha
    assert (hf_cache / f"models--{ns}--net" / "refs" / revision).read_text() == sha

    def listed_sha256() -> str | None:  # recorded from the cache once the first download was sent
        (sibling,) = api.model_info(repo, revision=revision).siblings or []
        return sibling.lfs.sha256 if sibling.lfs is not None else None

    wait_until(lambda: listed_sha256() == sha256(composed), "the composed file's sha256 in the listing")


def test_composed_files_before_their_first_download(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path
) -> None:
    ns = namespace.name
    fog_bytes, _fog = signature(["head.weight"], 3)
    with live_server.client(namespace.write_token) as client:
        data = weights(11)
        push(client, ns, "net", data)
        push(client, ns, "fog", fog_bytes, kind="rws")
    repo, revision = f"{ns}/net", f"main+{ns}~fog=2"
    api = HfApi(endpoint=live_server.url, token=namespace.read_token)
    (sibling,) = api.model_info(repo, revision=revision).siblings or []
    assert sibling.size == len(data) and sibling.lfs is None  # its sha256 is not known before it is computed
    metadata = api.get_safetensors_metadata(repo, revision=revision)  # Range requests on a first computation
    assert set(metadata.files_metadata[FILE].tensors) == set(load(data))
    folder = snapshot_download(
        repo, revision=revision, endpoint=live_server.url, token=namespace.read_token, cache_dir=hf_cache
    )
    composed = load((Path(folder) / FILE).read_bytes())
    assert not np.array_equal(composed["head.weight"], load(data)["head.weight"])
    np.testing.assert_array_equal(composed["encoder.weight"], load(data)["encoder.weight"])


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ("{ns}~absent", "does not exist"),
        ("{ns}~fog@v9", "no version or alias"),
        ("{ns}~fog=1e999", "finite"),
        ("{ns}~fog=half", "not a scale"),
        ("{other}~fog", "does not exist"),  # a signature the token cannot read is one that does not exist
        ("{ns}~net", "not an rws signature"),
        ("+".join(["{ns}~fog=0.001"] * 12), "by its id"),  # longer than a file name: clients could not cache it
    ],
)
def test_recipes_that_do_not_compose_are_missing_revisions(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path, patch: str, message: str
) -> None:
    other = make_namespace(live_server, "other")
    with live_server.client(namespace.write_token) as client:
        push(client, namespace.name, "net", weights(12))
        push(client, namespace.name, "fog", signature(["head.weight"], 4)[0], kind="rws")
    with live_server.client(other.write_token) as client:
        push(client, other.name, "fog", signature(["head.weight"], 5)[0], kind="rws")
    revision = "main+" + patch.format(ns=namespace.name, other=other.name)
    with pytest.raises(RevisionNotFoundError, match=message):
        hf_hub_download(
            f"{namespace.name}/net",
            FILE,
            revision=revision,
            endpoint=live_server.url,
            token=namespace.read_token,
            cache_dir=hf_cache,
        )
