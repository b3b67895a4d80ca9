"""Two namespaces that hold the same bytes compose them independently: the same recipe in each is readable by
its own tokens on every read path (API, files, web page, Hub), neither answer names the other namespace's
artifacts, and a namespace that composed nothing still cannot read it."""

from __future__ import annotations

from tests.fixtures.services import LiveServer, make_namespace
from tests.registry.hf.repos import push, signature, weights
from tests.ui.web_session import signed_in


def test_the_same_recipe_in_two_namespaces_is_readable_in_each(live_server: LiveServer) -> None:
    outputs = set()
    for ns in (make_namespace(live_server), make_namespace(live_server)):
        with live_server.client(ns.write_token) as client:
            base = push(client, ns.name, "net", weights(70))["id"]
            fog = push(client, ns.name, "fog", signature(["head.bias"], 70)[0], kind="rws")["id"]
            recipe = {"base": f"{ns.name}/net", "patches": [{"artifact": f"{ns.name}/fog", "scale": 0.5}]}
            created = client.post("/v1/compositions", json=recipe)
            assert created.status_code == 201, created.text  # new to this namespace, whoever composed it before
            assert created.json()["base"] == base  # not another namespace's artifact id
            assert [p["artifact"] for p in created.json()["patches"]] == [fog]
            composition_id = created.json()["id"]
            assert client.post("/v1/compositions", json=recipe).status_code == 200
        with live_server.client(ns.read_token) as reader:
            got = reader.get(f"/v1/compositions/{composition_id}")
            assert got.status_code == 200 and got.json()["base"] == base
            file = reader.get(f"/v1/compositions/{composition_id}/file")
            assert file.status_code == 200
            outputs.add(file.content)
            assert reader.get(f"/v1/compositions/{composition_id}/files").status_code == 200
            hub = reader.get(f"/api/models/{ns.name}/net/revision/{composition_id}")
            assert hub.status_code == 200, hub.text
            resolved = reader.get(f"/{ns.name}/net/resolve/{composition_id}/model.safetensors")
            assert resolved.status_code == 200 and resolved.content == file.content
        with signed_in(live_server, ns.read_token) as browser:
            page = browser.get(f"/compositions/{composition_id}")
            assert page.status_code == 200 and f"{ns.name}/net" in page.text and base in page.text
    assert len(outputs) == 1  # one composition, one output: the cache is shared

    outsider = make_namespace(live_server)
    with live_server.client(outsider.read_token) as reader:
        assert reader.get(f"/v1/compositions/{composition_id}").status_code == 404
        assert reader.get(f"/v1/compositions/{composition_id}/file").status_code == 404
        assert reader.get(f"/v1/compositions/{composition_id}/files").status_code == 404
    with signed_in(live_server, outsider.read_token) as browser:
        assert browser.get(f"/compositions/{composition_id}").status_code == 404
