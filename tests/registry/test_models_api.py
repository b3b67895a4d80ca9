"""Models: create, get, list with filters and pagination, soft delete."""

from __future__ import annotations

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, upload


def test_create_get_and_duplicate(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    body = {
        "namespace": namespace.name,
        "name": "resnet20-cifar",
        "arch": "resnet20",
        "arch_config": {"num_classes": 10},
        "description": "baseline",
        "tags": ["vision", "cifar"],
    }
    with live_server.client(namespace.write_token) as client:
        created = client.post("/v1/models", json=body)
        assert created.status_code == 201
        model = created.json()
        assert model["id"] == f"{namespace.name}/resnet20-cifar"
        assert model["arch_config"] == {"num_classes": 10}
        assert model["latest_version"] is None
        assert client.get(f"/v1/models/{namespace.name}/resnet20-cifar").json() == model
        duplicate = client.post("/v1/models", json=body)
        assert duplicate.status_code == 409
        assert duplicate.json()["error"] == "conflict"


def test_names_with_path_characters_are_rejected(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        for bad in ["../etc", "a/b", "a\\b", "", ".hidden", "x" * 65]:
            response = client.post("/v1/models", json={"namespace": namespace.name, "name": bad, "arch": "a"})
            assert response.status_code == 422, bad
            assert response.json()["error"] == "invalid"
        assert client.get("/v1/models", params={"namespace": namespace.name}).json()["items"] == []


def test_list_filters_and_paginates(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        for i in range(5):
            arch = "resnet20" if i % 2 == 0 else "vgg16"
            client.post(
                "/v1/models",
                json={
                    "namespace": namespace.name,
                    "name": f"m{i}",
                    "arch": arch,
                    "description": "robust" if i == 3 else "",
                    "tags": ["even"] if i % 2 == 0 else [],
                },
            ).raise_for_status()
        seen, token = [], None
        while True:
            params = {"namespace": namespace.name, "page_size": 2} | ({"page_token": token} if token else {})
            page = client.get("/v1/models", params=params).json()
            seen += [m["name"] for m in page["items"]]
            token = page["next_page_token"]
            if token is None:
                break
        assert seen == ["m0", "m1", "m2", "m3", "m4"]
        by_arch = client.get("/v1/models", params={"namespace": namespace.name, "arch": "vgg16"}).json()
        assert [m["name"] for m in by_arch["items"]] == ["m1", "m3"]
        by_text = client.get("/v1/models", params={"namespace": namespace.name, "q": "ROBUST"}).json()
        assert [m["name"] for m in by_text["items"]] == ["m3"]
        by_tag = client.get("/v1/models", params={"namespace": namespace.name, "tag": "even"}).json()
        assert [m["name"] for m in by_tag["items"]] == ["m0", "m2", "m4"]
        assert client.get("/v1/models", params={"page_token": "garbage!"}).status_code == 422


def test_soft_delete_needs_admin_and_hides_the_model(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as writer:
        writer.post("/v1/models", json={"namespace": namespace.name, "name": "gone", "arch": "a"}).raise_for_status()
        assert writer.delete(f"/v1/models/{namespace.name}/gone").status_code == 403
    with live_server.client() as admin:
        assert admin.delete(f"/v1/models/{namespace.name}/gone").status_code == 204
        assert admin.get(f"/v1/models/{namespace.name}/gone").status_code == 404
        listed = admin.get("/v1/models", params={"namespace": namespace.name}).json()["items"]
        assert listed == []
        again = admin.post("/v1/models", json={"namespace": namespace.name, "name": "gone", "arch": "a"})
        assert again.status_code == 409


def test_responses_carry_a_request_id_and_metrics_count_routes(live_server: LiveServer) -> None:
    with live_server.client() as client:
        given = client.get("/v1/whoami", headers={"X-Request-ID": "trace-42"})
        assert given.headers["x-request-id"] == "trace-42"
        made = client.get("/v1/models/none/none")
        assert made.status_code == 404 and len(made.headers["x-request-id"]) == 32
        metrics = client.get("/metrics").text
        assert 'route="/v1/models/{namespace}/{name}",status="404"' in metrics


def test_list_filters_by_artifact_kind(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        for name, kind in (("weights", "base"), ("trained", "checkpoint"), ("empty", None)):
            create_model(client, namespace.name, name)
            if kind:
                upload(client, namespace.name, tiny_model_bytes(layers=1), name=name, kind=kind).raise_for_status()
        listed = client.get("/v1/models", params={"kind": "checkpoint"}).json()["items"]
        assert [m["name"] for m in listed] == ["trained"]
        assert client.get("/v1/models", params={"kind": "nonsense"}).status_code == 422
