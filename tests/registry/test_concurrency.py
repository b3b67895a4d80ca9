"""Concurrent writers on both databases: every request succeeds or gets a meaningful 409, versions stay
contiguous and ``latest`` is the newest version (DESIGN invariant 8)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx

from registry.storage.gc import collect_garbage
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, upload
from tests.registry.hf.repos import push, signature, weights

PARALLEL = 20


def _in_parallel(
    server: LiveServer, token: str, call: Callable[[httpx.Client, int], httpx.Response]
) -> list[httpx.Response]:
    """``PARALLEL`` requests released at the same instant, each on its own open connection."""
    clients = [server.client(token) for _ in range(PARALLEL)]
    start = threading.Barrier(PARALLEL)

    def one(index: int) -> httpx.Response:
        # Connected and authenticated before the race starts (a token's first use records it, which
        # would serialise the requests behind that one row).
        clients[index].get("/v1/job-kinds").raise_for_status()
        start.wait(timeout=30)
        return call(clients[index], index)

    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            return list(pool.map(one, range(PARALLEL)))
    finally:
        for client in clients:
            client.close()


def _statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


def _versions(client: httpx.Client, namespace: str) -> tuple[list[int], int]:
    items = client.get(f"/v1/models/{namespace}/net/artifacts", params={"page_size": 100}).json()["items"]
    latest = client.get(f"/v1/models/{namespace}/net/artifacts/latest").json()["version"]
    return [item["version"] for item in items], latest


def test_parallel_uploads_to_one_model_get_contiguous_versions(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
    files = [tiny_model_bytes(seed=100 + i) for i in range(PARALLEL)]
    answers = _in_parallel(live_server, namespace.write_token, lambda c, i: upload(c, namespace.name, files[i]))
    assert _statuses(answers) == [201] * PARALLEL, [r.text for r in answers if r.status_code != 201][:3]
    assert sorted(r.json()["version"] for r in answers) == list(range(1, PARALLEL + 1))
    with live_server.client(namespace.read_token) as client:
        versions, latest = _versions(client, namespace.name)
    assert versions == list(range(1, PARALLEL + 1))
    assert latest == PARALLEL


def test_parallel_uploads_of_the_same_bytes_all_succeed(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
    data = tiny_model_bytes(seed=200)
    answers = _in_parallel(live_server, namespace.write_token, lambda c, _i: upload(c, namespace.name, data))
    assert _statuses(answers) == [201] * PARALLEL, [r.text for r in answers if r.status_code != 201][:3]
    assert len({r.json()["sha256"] for r in answers}) == 1
    with live_server.client(namespace.read_token) as client:
        versions, latest = _versions(client, namespace.name)
        assert versions == list(range(1, PARALLEL + 1)) and latest == PARALLEL
    sha = answers[0].json()["sha256"]
    stored = [info.key for info in live_server.runtime.store.list("sha256/") if info.key.endswith(sha)]
    assert len(stored) == 1


def test_creating_and_moving_one_alias_concurrently(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        for seed in range(3):
            upload(client, namespace.name, tiny_model_bytes(seed=300 + seed)).raise_for_status()

    def point(client: httpx.Client, i: int) -> httpx.Response:
        return client.put(f"/v1/models/{namespace.name}/net/aliases/prod", json={"version": 1 + i % 3})

    answers = _in_parallel(live_server, namespace.write_token, point)
    assert _statuses(answers) == [200] * PARALLEL, [r.text for r in answers if r.status_code != 200][:3]
    with live_server.client(namespace.read_token) as client:
        aliases = client.get(f"/v1/models/{namespace.name}/net/aliases").json()
    prod = [a for a in aliases if a["alias"] == "prod"]
    assert len(prod) == 1 and prod[0]["version"] in (1, 2, 3)
    assert {a["alias"]: a["version"] for a in aliases}["latest"] == 3


def test_concurrent_submissions_with_one_idempotency_key_make_one_job(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    body = {
        "kind": "train",
        "namespace": namespace.name,
        "params": {"output_model": f"{namespace.name}/raced", "arch": "resnet20", "epochs": 1},
    }

    def submit(client: httpx.Client, _i: int) -> httpx.Response:
        return client.post("/v1/jobs", json=body, headers={"Idempotency-Key": "one-key"})

    answers = _in_parallel(live_server, namespace.write_token, submit)
    statuses = _statuses(answers)
    assert statuses.count(201) == 1 and statuses.count(200) == PARALLEL - 1, [r.text for r in answers][:3]
    assert len({r.json()["id"] for r in answers}) == 1
    with live_server.client(namespace.read_token) as client:
        jobs = client.get("/v1/jobs", params={"namespace": namespace.name}).json()["items"]
    assert len(jobs) == 1


def test_an_idempotency_key_reused_with_different_params_is_a_conflict(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    params = {"output_model": f"{namespace.name}/keyed", "arch": "resnet20", "epochs": 1}
    with live_server.client(namespace.write_token) as client:

        def submit(**overrides: object) -> httpx.Response:
            body = {"kind": "train", "namespace": namespace.name, "params": {**params, **overrides}}
            return client.post("/v1/jobs", json=body, headers={"Idempotency-Key": "reused"})

        first = submit()
        assert first.status_code == 201
        assert submit().status_code == 200
        changed = submit(epochs=2)
        assert changed.status_code == 409
        assert changed.json()["error"] == "conflict" and "epochs" in changed.json()["detail"]
        elsewhere = submit(output_model=f"{namespace.name}/other")
        assert elsewhere.status_code == 409 and "output_model" in elsewhere.json()["detail"]
        assert client.get(f"/v1/models/{namespace.name}/other").status_code == 404  # nothing was created
        jobs = client.get("/v1/jobs", params={"namespace": namespace.name}).json()["items"]
        assert [job["id"] for job in jobs] == [first.json()["id"]]
        assert jobs[0]["params"]["epochs"] == 1


def test_parallel_first_uses_of_the_same_recipes_register_each_once(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    """POST /v1/compositions of a few new recipes, several times each at once: one 201 per recipe, the rest
    200 with the same id, never a 5xx (the loser of the insert once got a 500, and on SQLite a 503)."""
    ns = namespace.name
    with live_server.client(namespace.write_token) as client:
        base = push(client, ns, "net", weights(60))["id"]
        fog = push(client, ns, "fog", signature(["head.weight"], 11)[0], kind="rws")["id"]
    recipes = 4

    def compose(client: httpx.Client, index: int) -> httpx.Response:
        patches = [{"artifact": fog, "scale": 0.1 * (index % recipes + 1)}]
        return client.post("/v1/compositions", json={"base": base, "patches": patches})

    answers = _in_parallel(live_server, namespace.write_token, compose)
    assert set(_statuses(answers)) <= {200, 201}, [r.text for r in answers if r.status_code not in (200, 201)][:3]
    by_recipe: dict[int, list[httpx.Response]] = {}
    for index, answer in enumerate(answers):
        by_recipe.setdefault(index % recipes, []).append(answer)
    for same in by_recipe.values():
        assert len({answer.json()["id"] for answer in same}) == 1
        assert sorted(answer.status_code for answer in same) == [200] * (len(same) - 1) + [201]


def _resumable_upload(client: httpx.Client, namespace: str, data: bytes) -> str:
    body = {"kind": "base", "metadata": {}, "parents": [], "transfer": "streamed"}
    response = client.post(f"/v1/models/{namespace}/net/uploads", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _put_part(client: httpx.Client, upload: str, data: bytes) -> httpx.Response:
    return client.put(
        f"/v1/uploads/{upload}/parts/1",
        params={"sha256": hashlib.sha256(data).hexdigest()},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )


def test_one_part_sent_many_times_at_once_is_noted_once(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    """A retry racing its original: every PUT of the part answers 200 (the losing insert was a 500)."""
    data = tiny_model_bytes(seed=300)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload = _resumable_upload(client, namespace.name, data)
    answers = _in_parallel(live_server, namespace.write_token, lambda c, _i: _put_part(c, upload, data))
    assert _statuses(answers) == [200] * PARALLEL, [r.text for r in answers if r.status_code != 200][:3]
    with live_server.client(namespace.write_token) as client:
        assert [part["number"] for part in client.get(f"/v1/uploads/{upload}").json()["parts"]] == [1]
        done = client.post(f"/v1/uploads/{upload}/complete", json={"sha256": hashlib.sha256(data).hexdigest()})
        assert done.status_code == 201, done.text
        assert client.get(f"/v1/artifacts/{done.json()['id']}/file").content == data


def test_completing_one_upload_from_many_requests_at_once_makes_one_version(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    """Every request streamed the parts with no transaction held and registered its own version (6 versions
    of one upload); now one completes it and the others get a 409 naming the version it made."""
    data = tiny_model_bytes(seed=301)
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        upload = _resumable_upload(client, namespace.name, data)
        assert _put_part(client, upload, data).status_code == 200
    answers = _in_parallel(
        live_server, namespace.write_token, lambda c, _i: c.post(f"/v1/uploads/{upload}/complete", json={})
    )
    assert _statuses(answers) == [201] + [409] * (PARALLEL - 1), [r.text for r in answers][:3]
    [made] = [r.json()["id"] for r in answers if r.status_code == 201]
    assert all(made in r.json()["detail"] for r in answers if r.status_code == 409)
    with live_server.client(namespace.read_token) as client:
        versions, latest = _versions(client, namespace.name)
        assert (versions, latest) == ([1], 1)
        assert client.get(f"/v1/artifacts/{made}/file").content == data


def _folder_upload(client: httpx.Client, namespace: str, data: bytes) -> str:
    body = {"kind": "base", "metadata": {}, "parents": []}
    upload = client.post(f"/v1/models/{namespace}/net/folder-uploads", json=body).json()["id"]
    stored = client.put(f"/v1/folder-uploads/{upload}/files/model.safetensors", content=data)
    assert stored.status_code == 200, stored.text
    return str(upload)


def test_completing_and_aborting_one_upload_at_once_ends_one_way(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    """Half the requests complete the upload, half abort it: it becomes one version or is aborted, never
    both (a complete then an abort both answered success), and no request gets a 5xx (an abort under a
    folder complete was a 500)."""
    data = tiny_model_bytes(seed=302)
    digest = hashlib.sha256(data).hexdigest()
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        resumable = _resumable_upload(client, namespace.name, data)
        assert _put_part(client, resumable, data).status_code == 200
        folder = _folder_upload(client, namespace.name, data)
    routes = {
        resumable: (f"/v1/uploads/{resumable}", {}),
        folder: (f"/v1/folder-uploads/{folder}", {"files": [{"path": "model.safetensors", "sha256": digest}]}),
    }
    made = 0
    for path, completion in routes.values():
        answers = _in_parallel(
            live_server,
            namespace.write_token,
            lambda c, i, path=path, completion=completion: (
                c.post(f"{path}/complete", json=completion) if i % 2 else c.delete(path)
            ),
        )
        statuses = _statuses(answers)
        assert set(statuses) <= {201, 204, 404, 409}, [r.text for r in answers if r.status_code >= 500][:3]
        assert (statuses.count(201), statuses.count(204)) in ((1, 0), (0, 1)), statuses
        made += statuses.count(201)
    with live_server.client(namespace.read_token) as client:
        items = client.get(f"/v1/models/{namespace.name}/net/artifacts", params={"page_size": 100}).json()["items"]
    assert [item["version"] for item in items] == list(range(1, made + 1))
    # A complete that read the bytes before an abort won leaves them stored and unnamed, for gc (they are
    # content-addressed: another upload may name them). Collect them, so later tests on this shared server
    # that count what gc deletes start from none.
    collect_garbage(live_server.runtime.session_factory, live_server.runtime.store, timedelta(0))
