"""On S3 with presigned downloads on (the default), resolve GETs answer 302 to the bucket and huggingface_hub
follows them: the same bytes, Range requests included, for versions and compositions."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi, hf_hub_download

from tests.fixtures.services import LiveServer, make_namespace
from tests.registry.hf.repos import SHAPES, push, signature, weights


def test_downloads_follow_the_redirect_to_the_bucket(direct_server: LiveServer, direct_hf_cache: Path) -> None:
    team = make_namespace(direct_server, "hfdirect")
    data = weights(40)
    with direct_server.client(team.write_token) as client:
        push(client, team.name, "net", data)
        push(client, team.name, "fog", signature(["head.weight"], 9)[0], kind="rws")
        redirected = client.get(f"/{team.name}/net/resolve/main/model.safetensors")
        assert redirected.status_code == 302 and "X-Amz-Signature=" in redirected.headers["location"]
        assert redirected.headers["x-repo-commit"] and "immutable" not in redirected.headers["cache-control"]
    repo, token = f"{team.name}/net", team.read_token
    path = hf_hub_download(
        repo, "model.safetensors", endpoint=direct_server.url, token=token, cache_dir=direct_hf_cache
    )
    assert Path(path).read_bytes() == data
    api = HfApi(endpoint=direct_server.url, token=token)
    tensors = api.get_safetensors_metadata(repo).files_metadata["model.safetensors"].tensors
    assert {name: tuple(info.shape) for name, info in tensors.items()} == SHAPES

    revision = f"main+{team.name}~fog=0.5"
    for _first_then_cached in range(2):  # computed through the API, then the cached output from the bucket
        composed = hf_hub_download(
            repo,
            "model.safetensors",
            revision=revision,
            endpoint=direct_server.url,
            token=token,
            cache_dir=direct_hf_cache,
            force_download=True,
        )
        with direct_server.client(token) as client:
            composition_id = client.head(f"/{team.name}/net/resolve/{revision.replace('+', '%2B')}/model.safetensors")
            expected = client.get(
                f"/v1/compositions/{composition_id.headers['etag'].strip(chr(34))}/file", follow_redirects=True
            )
        assert Path(composed).read_bytes() == expected.content != data
