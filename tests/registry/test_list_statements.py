"""Listing models and artifacts costs a fixed number of SQL statements, whatever the page holds (no N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, upload


@contextmanager
def counted_statements(server: LiveServer) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(server.runtime.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(server.runtime.engine, "before_cursor_execute", record)


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


def test_model_list_statements_do_not_grow_with_the_page(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        for index in range(2):
            _add_model(client, namespace.name, f"m{index}", versions=1)
        few = _statements_for(live_server, client, "/v1/models", 2)
        for index in range(2, 8):
            _add_model(client, namespace.name, f"m{index}", versions=1)
        many = _statements_for(live_server, client, "/v1/models", 8)
        assert client.get("/v1/models").json()["items"][0]["aliases"] == {"latest": 1, "prod": 1}
    assert many == few


def test_artifact_list_statements_do_not_grow_with_the_page(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    path = f"/v1/models/{namespace.name}/net/artifacts"
    with live_server.client(namespace.write_token) as client:
        _add_model(client, namespace.name, "net", versions=2)
        few = _statements_for(live_server, client, path, 2)
        for seed in range(10, 16):
            parent = client.get(path).json()["items"][0]["id"]
            upload(client, namespace.name, tiny_model_bytes(seed=seed, layers=1), parent=parent).raise_for_status()
        many = _statements_for(live_server, client, path, 8)
        items = client.get(path).json()["items"]
    assert many == few
    assert items[-1]["parents"][0]["id"] == items[0]["id"]
    assert items[-1]["aliases"] == ["latest"] and items[0]["aliases"] == ["prod"]


def test_job_list_statements_do_not_grow_with_the_page(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    params = {"output_model": f"{namespace.name}/trained", "arch": "resnet20", "epochs": 1}
    body = {"kind": "train", "namespace": namespace.name, "params": params}
    with live_server.client(namespace.write_token) as client:
        for _ in range(2):
            client.post("/v1/jobs", json=body).raise_for_status()
        few = _statements_for(live_server, client, "/v1/jobs", 2)
        for _ in range(6):
            client.post("/v1/jobs", json=body).raise_for_status()
        many = _statements_for(live_server, client, "/v1/jobs", 8)
        assert all(job["outputs"] == [] for job in client.get("/v1/jobs").json()["items"])
    assert many == few
