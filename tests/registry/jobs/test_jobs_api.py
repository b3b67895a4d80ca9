"""The jobs API without workers: validation, idempotency, references, cancellation, listing, events."""

from __future__ import annotations

import json

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess


def _submit(client, namespace, kind, params, key=None):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/v1/jobs", json={"kind": kind, "namespace": namespace, "params": params}, headers=headers)


def _train(namespace: str, **overrides: object) -> dict[str, object]:
    return {"output_model": f"{namespace}/trained", "arch": "resnet20", "epochs": 1, **overrides}


def test_params_are_validated_per_kind_before_queueing(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        unknown = _submit(client, namespace.name, "teleport", {})
        assert unknown.status_code == 422 and "unknown job kind" in unknown.json()["detail"]
        bad = _submit(client, namespace.name, "train", _train(namespace.name, epochs=0))
        assert bad.status_code == 422
        assert "params.epochs" in bad.json()["detail"]
        typo = _submit(client, namespace.name, "train", _train(namespace.name, learning_rate=0.1))
        assert typo.status_code == 422 and "params.learning_rate" in typo.json()["detail"]
        missing = _submit(client, namespace.name, "evaluate", {"artifact": f"{namespace.name}/nope@latest"})
        assert missing.status_code == 422 and "params.artifact" in missing.json()["detail"]
        assert client.get("/v1/jobs", params={"namespace": namespace.name}).json()["items"] == []


def test_idempotency_key_returns_the_same_job(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        first = _submit(client, namespace.name, "train", _train(namespace.name), key="run-1")
        assert first.status_code == 201
        again = _submit(client, namespace.name, "train", _train(namespace.name), key="run-1")
        assert again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        other = _submit(client, namespace.name, "evaluate", {"artifact": "x"}, key="run-1")
        assert other.status_code == 409
        fresh = _submit(client, namespace.name, "train", _train(namespace.name), key="run-2")
        assert fresh.json()["id"] != first.json()["id"]


def test_submission_resolves_references_and_creates_the_output_model(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    with live_server.client(namespace.write_token) as client:
        client.post("/v1/models", json={"namespace": namespace.name, "name": "base", "arch": "resnet20"})
        artifact = client.put(
            f"/v1/models/{namespace.name}/base/artifacts", params={"kind": "base"}, content=tiny_model_bytes()
        ).json()
        job = _submit(client, namespace.name, "train", _train(namespace.name, init=f"{namespace.name}/base")).json()
        assert job["params"]["init"] == artifact["id"]
        assert job["queue"] == "cpu" and job["status"] == "queued"
        gpu = _submit(client, namespace.name, "train", _train(namespace.name, device="gpu")).json()
        assert gpu["queue"] == "gpu"
        model = client.get(f"/v1/models/{namespace.name}/trained").json()
        assert model["arch"] == "resnet20"


def test_scoped_token_cannot_submit_elsewhere(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.read_token) as reader:
        assert _submit(reader, namespace.name, "train", _train(namespace.name)).status_code == 403
    with live_server.client() as admin:
        admin.post("/v1/namespaces", json={"name": f"{namespace.name}-x"}).raise_for_status()
    with live_server.client(namespace.write_token) as writer:
        response = _submit(writer, f"{namespace.name}-x", "train", _train(f"{namespace.name}-x"))
        assert response.status_code == 404  # a namespace the token cannot read does not exist for it


def test_cancel_queued_job_and_follow_its_events(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        job = _submit(client, namespace.name, "train", _train(namespace.name)).json()
        cancelled = client.post(f"/v1/jobs/{job['id']}/cancel").json()
        assert cancelled["status"] == "cancelled"
        assert client.post(f"/v1/jobs/{job['id']}/cancel").status_code == 409
        with client.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
            events = [line for line in stream.iter_lines() if line.startswith("event:")]
        assert events == ["event: progress", "event: end"]


def test_list_filters_and_pages(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        ids = [_submit(client, namespace.name, "train", _train(namespace.name)).json()["id"] for _ in range(3)]
        client.post(f"/v1/jobs/{ids[0]}/cancel")
        page = client.get("/v1/jobs", params={"namespace": namespace.name, "page_size": 2}).json()
        rest = client.get(
            "/v1/jobs", params={"namespace": namespace.name, "page_size": 2, "page_token": page["next_page_token"]}
        ).json()
        assert [j["id"] for j in page["items"] + rest["items"]] == ids
        assert rest["next_page_token"] is None
        queued = client.get("/v1/jobs", params={"namespace": namespace.name, "status": "queued"}).json()["items"]
        assert [j["id"] for j in queued] == ids[1:]


def test_job_kinds_publish_their_param_schemas(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.read_token) as client:
        kinds = {k["name"]: k for k in client.get("/v1/job-kinds").json()}
        assert {"train", "evaluate"} <= set(kinds)
        schema = kinds["train"]["params_schema"]
        assert "epochs" in schema["properties"] and "output_model" in schema["required"]
        json.dumps(schema)
