"""Two namespaces that hold the same bytes compose them independently: the same recipe in each is readable by
its own tokens, and neither answer names the other namespace's artifacts."""

from __future__ import annotations

import pytest

from tests.fixtures.services import LiveServer, make_namespace
from tests.registry.hf.repos import push, signature, weights


@pytest.mark.xfail(
    strict=True, reason="compositions are keyed by bytes only: the second namespace gets the first's row"
)
def test_the_same_recipe_in_two_namespaces_is_readable_in_each(live_server: LiveServer) -> None:
    for ns in (make_namespace(live_server), make_namespace(live_server)):
        with live_server.client(ns.write_token) as client:
            base = push(client, ns.name, "net", weights(70))["id"]
            push(client, ns.name, "fog", signature(["head.bias"], 70)[0], kind="rws")
            recipe = {"base": f"{ns.name}/net", "patches": [{"artifact": f"{ns.name}/fog", "scale": 0.5}]}
            created = client.post("/v1/compositions", json=recipe)
            assert created.status_code in (200, 201), created.text
            assert created.json()["base"] == base  # not another namespace's artifact id
        with live_server.client(ns.read_token) as reader:
            assert reader.get(f"/v1/compositions/{created.json()['id']}").status_code == 200
            assert reader.get(f"/v1/compositions/{created.json()['id']}/file").status_code == 200
