"""Numbers in paths, queries, bodies, headers and page tokens: past 64 bits, negative or not ASCII digits, each
is a 4xx ``{"error", "detail"}`` (never a 500), and nothing stored changes."""

from __future__ import annotations

import base64

import pytest

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, upload

HUGE = 2**70
DIGITS_5000 = "9" * 5000


def page_token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def assert_error(answer: object, *statuses: int) -> None:
    status = answer.status_code  # type: ignore[attr-defined]
    assert status in statuses, (status, answer.text)  # type: ignore[attr-defined]
    assert set(answer.json()) == {"error", "detail"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("ref", ["v99999999999999999999", "99999999999999999999", "²", "v²", "\u0661", "v-1", "0"])
def test_artifact_refs_that_are_no_version(live_server: LiveServer, namespace: NamespaceAccess, ref: str) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload(client, namespace.name, tiny_model_bytes(seed=301)).raise_for_status()
        assert_error(client.get(f"/v1/models/{namespace.name}/net/artifacts/{ref}"), 404)
        composed = client.post("/v1/compositions", json={"base": f"{namespace.name}/net@{ref}"})
        assert_error(composed, 404, 422)


def test_numbers_past_64_bits_in_queries_paths_and_bodies(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload(client, namespace.name, tiny_model_bytes(seed=302)).raise_for_status()
        aliases = f"/v1/models/{namespace.name}/net/aliases"
        for version in (HUGE, -1, 0):
            assert_error(client.put(f"{aliases}/prod", json={"version": version}), 422)
        assert client.get(aliases).json() == [
            {
                "model": f"{namespace.name}/net",
                "alias": "latest",
                "artifact_id": client.get(f"/v1/models/{namespace.name}/net/artifacts/latest").json()["id"],
                "version": 1,
            }
        ]
        job = client.post(
            "/v1/jobs",
            json={
                "kind": "generate_uva_demos",
                "namespace": namespace.name,
                "params": {"output_model": f"{namespace.name}/demos", "num_expert": 1, "num_random": 0},
            },
        )
        job.raise_for_status()
        for after in (HUGE, -HUGE, -1):
            assert_error(client.get(f"/v1/jobs/{job.json()['id']}/logs", params={"after": after}), 422)
        for size in (HUGE, 0, -1):
            assert_error(client.get("/v1/models", params={"page_size": size}), 422)
    with live_server.client() as admin:
        for token_id in (HUGE, -1, 0):
            assert_error(admin.delete(f"/v1/tokens/{token_id}"), 404, 422)


@pytest.mark.parametrize("token", ["id:-5", "id:99999999999999999999", "id:²", "id: 5", "id:1_0"])
def test_page_tokens_that_decode_to_no_position(
    live_server: LiveServer, namespace: NamespaceAccess, token: str
) -> None:
    with live_server.client(namespace.read_token) as client:
        for path in ("/v1/models", "/v1/jobs"):
            assert_error(client.get(path, params={"namespace": namespace.name, "page_token": page_token(token)}), 422)


def test_ranges_with_numbers_past_any_file(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    data = tiny_model_bytes(seed=303)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        artifact_id = upload(client, namespace.name, data).json()["id"]
        path = f"/v1/artifacts/{artifact_id}/file"
        tail = client.get(path, headers={"Range": f"bytes=1-{DIGITS_5000}"})
        assert tail.status_code == 206 and tail.content == data[1:]
        suffix = client.get(path, headers={"Range": f"bytes=-{DIGITS_5000}"})
        assert suffix.status_code == 206 and suffix.content == data
        past = client.get(path, headers={"Range": f"bytes={DIGITS_5000}-"})
        assert_error(past, 416)


@pytest.mark.parametrize("alias", ["3", "v2", "V10", "007"])
def test_alias_names_that_read_as_versions_are_refused(
    live_server: LiveServer, namespace: NamespaceAccess, alias: str
) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload(client, namespace.name, tiny_model_bytes(seed=305)).raise_for_status()
        answer = client.put(f"/v1/models/{namespace.name}/net/aliases/{alias}", json={"version": 1})
        assert_error(answer, 422)
        assert "version" in answer.json()["detail"]
        assert [a["alias"] for a in client.get(f"/v1/models/{namespace.name}/net/aliases").json()] == ["latest"]
        assert client.put(f"/v1/models/{namespace.name}/net/aliases/v2-rc", json={"version": 1}).status_code == 200
