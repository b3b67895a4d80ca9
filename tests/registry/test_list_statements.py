"""Listing models, artifacts and jobs costs a fixed number of SQL statements, whatever the page holds (no N+1)."""

from __future__ import annotations

import httpx

from registry.db.session import transaction
from registry.domain.evaluations import record_evaluation
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.fixtures.statements import counted_statements
from tests.registry.artifact_helpers import create_model, upload


def _statements_for(server: LiveServer, client: httpx.Client, path: str, expected_items: int) -> int:
    with counted_statements(server) as statements:
        response = client.get(path, params={"page_size": 200})
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == expected_items
    return len(statements)


def _add_model(client: httpx.Client, namespace: str, name: str, versions: int) -> None:
    create_model(client, namespace, name)
    for version in range(versions):
        assert upload(client, namespace, tiny_model_bytes(seed=version, layers=1), name=name).status_code == 201
    client.put(f"/v1/models/{namespace}/{name}/aliases/prod", json={"version": 1}).raise_for_status()


PAGE_SIZES = (1, 10, 40)


def test_model_list_statements_do_not_grow_with_the_page(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    counts = []
    with live_server.client(namespace.write_token) as client:
        for size in PAGE_SIZES:
            while len(client.get("/v1/models", params={"page_size": 200}).json()["items"]) < size:
                index = len(client.get("/v1/models", params={"page_size": 200}).json()["items"])
                _add_model(client, namespace.name, f"m{index}", versions=1)
            counts.append(_statements_for(live_server, client, "/v1/models", size))
        assert client.get("/v1/models").json()["items"][0]["aliases"] == {"latest": 1, "prod": 1}
    assert counts == [counts[0]] * len(PAGE_SIZES)


def test_artifact_list_statements_do_not_grow_with_the_page(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    path = f"/v1/models/{namespace.name}/net/artifacts"
    counts = []
    with live_server.client(namespace.write_token) as client:
        _add_model(client, namespace.name, "net", versions=1)
        for size in PAGE_SIZES:
            for seed in range(len(client.get(path).json()["items"]), size):
                parent = client.get(path).json()["items"][0]["id"]
                created = upload(client, namespace.name, tiny_model_bytes(seed=seed, layers=1), parent=parent)
                created.raise_for_status()
                with transaction(live_server.runtime.session_factory) as session:
                    record_evaluation(session, created.json()["id"], {"job": f"{seed:032x}", "top1": seed / 100})
            counts.append(_statements_for(live_server, client, path, size))
        items = client.get(path, params={"page_size": 200}).json()["items"]
    assert counts == [counts[0]] * len(PAGE_SIZES)
    assert items[-1]["parents"][0]["id"] == items[0]["id"]
    assert items[-1]["aliases"] == ["latest"] and items[0]["aliases"] == ["prod"]
    assert items[-1]["metadata"]["evaluations"] == [{"job": f"{39:032x}", "top1": 0.39}]


def test_job_list_statements_do_not_grow_with_the_page(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    params = {"output_model": f"{namespace.name}/trained", "arch": "resnet20", "epochs": 1}
    body = {"kind": "train", "namespace": namespace.name, "params": params}
    path = "/v1/jobs"
    counts = []
    with live_server.client(namespace.write_token) as client:
        for size in PAGE_SIZES:
            while len(client.get(path, params={"page_size": 200}).json()["items"]) < size:
                client.post("/v1/jobs", json=body).raise_for_status()
            counts.append(_statements_for(live_server, client, path, size))
        assert all(job["outputs"] == [] for job in client.get(path).json()["items"])
    assert counts == [counts[0]] * len(PAGE_SIZES)
