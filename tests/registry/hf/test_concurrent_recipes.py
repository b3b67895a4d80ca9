"""Clients fetch a new composition revision's files in parallel (snapshot_download runs 8 threads): every
request registers or finds the same composition, none fails."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.hf.repos import push, signature, weights


def test_parallel_first_uses_of_a_recipe_agree(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    ns = namespace.name
    with live_server.client(namespace.write_token) as client:
        push(client, ns, "net", weights(50))
        push(client, ns, "fog", signature(["head.weight"], 10)[0], kind="rws")
    url = f"/{ns}/net/resolve/main%2B{ns}~fog%3D0.25/model.safetensors"

    def head(_: int) -> tuple[int, str]:
        with live_server.client(namespace.read_token) as client:
            answer = client.head(url)
            return answer.status_code, answer.headers.get("x-repo-commit", answer.text)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(head, range(8)))
    assert {status for status, _ in answers} == {200}, answers
    assert len({commit for _, commit in answers}) == 1


def test_many_first_uses_of_several_recipes_at_once_all_answer(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    """Released together on open connections: on SQLite a registration inside a savepoint that read first
    answered 503 ("database is locked") to about 1 in 12 of such requests."""
    ns = namespace.name
    with live_server.client(namespace.write_token) as client:
        push(client, ns, "net", weights(51))
        push(client, ns, "fog", signature(["head.weight"], 12)[0], kind="rws")
    parallel, recipes = 16, 4
    clients = [live_server.client(namespace.read_token) for _ in range(parallel)]
    start = threading.Barrier(parallel)

    def head(index: int) -> tuple[int, str, str]:
        scale = f"{0.1 * (index % recipes + 1):.1f}"
        clients[index].get("/api/whoami-v2").raise_for_status()  # connected before the race
        start.wait(timeout=30)
        answer = clients[index].head(f"/{ns}/net/resolve/main%2B{ns}~fog%3D{scale}/model.safetensors")
        return answer.status_code, scale, answer.headers.get("x-repo-commit", answer.text)

    try:
        with ThreadPoolExecutor(parallel) as pool:
            answers = list(pool.map(head, range(parallel)))
    finally:
        for client in clients:
            client.close()
    assert {status for status, _, _ in answers} == {200}, answers
    assert len({(scale, commit) for _, scale, commit in answers}) == recipes
