"""The resolve answers as HTTP: caching by revision kind, HEAD without composing, the routes it must not shadow."""

from __future__ import annotations

from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.hf.repos import push, sha256, signature, weights


def test_heads_and_caching_follow_the_revision(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    ns, data = namespace.name, weights(30)
    with live_server.client(namespace.write_token) as client:
        push(client, ns, "net", data)
        push(client, ns, "fog", signature(["head.bias"], 8)[0], kind="rws")
    with live_server.client(namespace.read_token) as client:
        head = client.head(f"/{ns}/net/resolve/main/model.safetensors")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == head.headers["x-linked-size"] == str(len(data))
        assert head.headers["x-linked-etag"] == head.headers["etag"] == f'"{sha256(data)}"'
        assert head.headers["cache-control"] == "private, no-cache"  # main moves with each new version
        sha = head.headers["x-repo-commit"]
        pinned = client.head(f"/{ns}/net/resolve/{sha}/model.safetensors")
        assert pinned.headers["x-repo-commit"] == sha and "immutable" in pinned.headers["cache-control"]

        recipe = f"main%2B{ns}~fog%3D0.5"  # as huggingface_hub quotes it
        composed = client.head(f"/{ns}/net/resolve/{recipe}/model.safetensors")
        assert composed.status_code == 200
        composition_id = composed.headers["etag"].strip('"')
        status = client.get(f"/v1/compositions/{composition_id}").json()
        assert status["cached"] is False  # a HEAD composes nothing
        assert composed.headers["x-repo-commit"] == composition_id[:40]
        assert int(composed.headers["content-length"]) == status["size"]

        assert client.get(f"/v1/models/{ns}/net").status_code == 200  # the API and the pages still answer
        assert client.get(f"/models/{ns}/net").status_code in (200, 303)
        assert client.get("/api/spaces").status_code == 404
