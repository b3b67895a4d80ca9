"""Clients fetch a new composition revision's files in parallel (snapshot_download runs 8 threads): every
request registers or finds the same composition, none fails."""

from __future__ import annotations

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
