"""Large files go up in parts; a client that lost its connection continues from the stored parts."""

from __future__ import annotations

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, sha256, stored_blob_keys


def test_parts_resume_and_complete_into_one_artifact(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    data = tiny_model_bytes(seed=20, layers=4, width=64)
    chunks = [data[i : i + 20_000] for i in range(0, len(data), 20_000)]
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload = client.post(
            f"/v1/models/{namespace.name}/net/uploads", json={"kind": "base", "metadata": {"source": "parts"}}
        ).json()
        for number, chunk in enumerate(chunks[:2], start=1):
            stored = client.put(
                f"/v1/uploads/{upload['id']}/parts/{number}", content=chunk, params={"sha256": sha256(chunk)}
            )
            assert stored.status_code == 200, stored.text
        # The connection is lost here; the client asks what the server already holds and continues.
        state = client.get(f"/v1/uploads/{upload['id']}").json()
        assert [p["number"] for p in state["parts"]] == [1, 2]
        for number, chunk in enumerate(chunks, start=1):
            if number > len(state["parts"]):
                client.put(f"/v1/uploads/{upload['id']}/parts/{number}", content=chunk).raise_for_status()
        done = client.post(f"/v1/uploads/{upload['id']}/complete", json={"sha256": sha256(data)})
        assert done.status_code == 201, done.text
        artifact = done.json()
        assert artifact["sha256"] == sha256(data)
        assert artifact["metadata"] == {"source": "parts"}
        assert client.get(f"/v1/artifacts/{artifact['id']}/file").content == data
        assert client.get(f"/v1/uploads/{upload['id']}").json()["artifact_id"] == artifact["id"]
        again = client.post(f"/v1/uploads/{upload['id']}/complete", json={})
        assert again.status_code == 409
    assert not any(
        info.key.startswith(f"uploads/{upload['id']}") for info in live_server.runtime.store.list("uploads/")
    )


def test_bad_parts_and_gaps_are_rejected(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    data = tiny_model_bytes(seed=21)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload = client.post(f"/v1/models/{namespace.name}/net/uploads", json={"kind": "base"}).json()
        wrong = client.put(f"/v1/uploads/{upload['id']}/parts/1", content=data, params={"sha256": "0" * 64})
        assert wrong.status_code == 422
        assert client.put(f"/v1/uploads/{upload['id']}/parts/0", content=data).status_code == 422
        client.put(f"/v1/uploads/{upload['id']}/parts/2", content=data).raise_for_status()
        gap = client.post(f"/v1/uploads/{upload['id']}/complete", json={})
        assert gap.status_code == 422
        assert "missing [1]" in gap.json()["detail"]


def test_invalid_file_from_parts_stores_nothing(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    data = tiny_model_bytes(seed=22)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        blobs_before = stored_blob_keys(live_server)
        upload = client.post(f"/v1/models/{namespace.name}/net/uploads", json={"kind": "base"}).json()
        client.put(f"/v1/uploads/{upload['id']}/parts/1", content=data[:-10]).raise_for_status()
        response = client.post(f"/v1/uploads/{upload['id']}/complete", json={})
        assert response.status_code == 422
        assert "truncated" in response.json()["detail"]
        assert client.get(f"/v1/models/{namespace.name}/net/artifacts").json()["items"] == []
        assert stored_blob_keys(live_server) == blobs_before
        assert any(
            info.key.startswith(f"uploads/{upload['id']}") for info in live_server.runtime.store.list("uploads/")
        )
        assert client.delete(f"/v1/uploads/{upload['id']}").status_code == 204
        assert client.get(f"/v1/uploads/{upload['id']}").status_code == 404
    assert not any(
        info.key.startswith(f"uploads/{upload['id']}") for info in live_server.runtime.store.list("uploads/")
    )
