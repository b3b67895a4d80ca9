"""Limits on bodies, fields and headers (docs/limits.md): each refused with its documented status, and the
refused request stores nothing."""

from __future__ import annotations

import json

import httpx

from registry.field_limits import MAX_ARCH_CONFIG_BYTES, MAX_JOB_PARAMS_BYTES
from registry.settings import Settings
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, upload

DEFAULTS = Settings()


def nested(depth: int) -> str:
    """JSON text of arrays nested ``depth`` deep (json.dumps itself cannot write 1,000 levels)."""
    return "[" * depth + "1" + "]" * depth


def post_json(client: httpx.Client, path: str, text: str, method: str = "POST") -> httpx.Response:
    return client.request(method, path, content=text.encode(), headers={"Content-Type": "application/json"})


def models_in(client: httpx.Client, namespace: str) -> list[str]:
    return [m["name"] for m in client.get("/v1/models", params={"namespace": namespace}).json()["items"]]


def test_a_json_body_over_the_limit_is_413_and_creates_nothing(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    huge = {"blob": "x" * (DEFAULTS.max_json_body_bytes + 1)}
    body = {"namespace": namespace.name, "name": "big", "arch": "mlp", "arch_config": huge}
    with live_server.client(namespace.write_token) as client:
        declared = client.post("/v1/models", json=body)
        assert declared.status_code == 413 and declared.json()["error"] == "payload_too_large"

        def chunks() -> object:  # no Content-Length: the limit holds while the body streams in
            yield json.dumps(body).encode()

        streamed = client.post("/v1/models", content=chunks(), headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413 and streamed.json()["error"] == "payload_too_large"
        assert models_in(client, namespace.name) == []


def test_json_fields_over_their_limits_are_422(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        config = {"blob": "x" * MAX_ARCH_CONFIG_BYTES}
        model = client.post(
            "/v1/models", json={"namespace": namespace.name, "name": "m", "arch": "a", "arch_config": config}
        )
        assert model.status_code == 422 and "arch_config" in model.json()["detail"]
        params = {"output_model": f"{namespace.name}/x", "blob": "x" * MAX_JOB_PARAMS_BYTES}
        job = client.post("/v1/jobs", json={"kind": "train", "namespace": namespace.name, "params": params})
        assert job.status_code == 422 and "params" in job.json()["detail"]
        assert models_in(client, namespace.name) == []


def test_json_nested_past_the_depth_limit_is_422_everywhere(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    model = '{"namespace": "%s", "name": "%s", "arch": "a", "arch_config": {"x": %s}}'
    # arch_config's value sits two levels down in the body: depth-2 fits exactly, one more does not.
    fits, too_deep = nested(DEFAULTS.max_json_depth - 2), nested(DEFAULTS.max_json_depth - 1)
    with live_server.client(namespace.write_token) as client:
        for deep in (too_deep, nested(1000)):
            refused = post_json(client, "/v1/models", model % (namespace.name, "d", deep))
            assert refused.status_code == 422 and "nested deeper" in refused.json()["detail"]
        ok = post_json(client, "/v1/models", model % (namespace.name, "net", fits))
        assert ok.status_code == 201, ok.text
        artifact = upload(client, namespace.name, tiny_model_bytes(seed=311)).json()
        path = f"/v1/artifacts/{artifact['id']}/metadata"
        patched = post_json(client, path, '{"metadata": {"x": ' + nested(1000) + "}}", method="PATCH")
        assert patched.status_code == 422 and "nested deeper" in patched.json()["detail"]
        header = client.put(
            f"/v1/models/{namespace.name}/net/artifacts",
            params={"kind": "base"},
            content=tiny_model_bytes(seed=312),
            headers={"X-Patchhub-Metadata": '{"x": ' + nested(500) + "}"},
        )
        assert header.status_code == 422 and "deeper" in header.json()["detail"]
        assert models_in(client, namespace.name) == ["net"]
        assert client.get(f"/v1/artifacts/{artifact['id']}").json()["metadata"] == {}
        assert client.get(f"/v1/models/{namespace.name}/net").json()["latest_version"] == 1


def test_headers_over_the_limit_are_431(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        meta = json.dumps({"note": "x" * DEFAULTS.max_request_headers_bytes})
        answer = client.put(
            f"/v1/models/{namespace.name}/net/artifacts",
            params={"kind": "base"},
            content=tiny_model_bytes(seed=313),
            headers={"X-Patchhub-Metadata": meta},
        )
        assert answer.status_code == 431 and answer.json()["error"] == "headers_too_large"
        half = DEFAULTS.max_request_headers_bytes // 2 + 1  # the query string and the headers count together
        long_query = client.get("/v1/models", params={"q": "x" * half}, headers={"X-Pad": "y" * half})
        assert long_query.status_code == 431
        assert client.get(f"/v1/models/{namespace.name}/net").json()["latest_version"] is None


def test_too_many_parents_are_422(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        parents = [f"{i:032x}" for i in range(33)]
        answer = upload(client, namespace.name, tiny_model_bytes(seed=314), parent=parents)
        assert answer.status_code == 422, answer.text
        created = client.post(f"/v1/models/{namespace.name}/net/uploads", json={"kind": "base", "parents": parents})
        assert created.status_code == 422, created.text


def test_values_no_database_column_holds_are_422(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    """Python's JSON parser accepts NaN, Infinity and 1e400, and strings may carry NUL; Postgres refuses them
    all, which answered 500 before."""
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        artifact = upload(client, namespace.name, tiny_model_bytes(seed=315)).json()["id"]
        path = f"/v1/artifacts/{artifact}/metadata"
        for value in ("NaN", "Infinity", "-Infinity", "1e400", '"a\\u0000b"'):
            answer = post_json(client, path, '{"metadata": {"x": ' + value + "}}", method="PATCH")
            assert answer.status_code == 422, (value, answer.text)
        model = '{"namespace": "' + namespace.name + '", "name": "m", "arch": "a", "description": "x\\u0000y"}'
        assert post_json(client, "/v1/models", model).status_code == 422
        assert client.get("/v1/models", params={"q": "a\x00b"}).status_code == 422
        header = client.put(
            f"/v1/models/{namespace.name}/net/artifacts",
            params={"kind": "base"},
            content=tiny_model_bytes(seed=316),
            headers={"X-Patchhub-Metadata": '{"x": NaN}'},
        )
        assert header.status_code == 422, header.text
        assert (
            post_json(
                client, path, '{"metadata": {"x": "NaN \\\\u0000 1e400", "y": 1e300}}', method="PATCH"
            ).status_code
            == 200
        )
        assert client.get(path.rsplit("/", 1)[0]).json()["metadata"] == {"x": "NaN \\u0000 1e400", "y": 1e300}
        assert models_in(client, namespace.name) == ["net"]
