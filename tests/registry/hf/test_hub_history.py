"""Versions as history: list_repo_refs shows main at the latest version and each alias as a tag;
list_repo_commits lists the versions up to a revision, a composition on top of its base's."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi

from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.hf.repos import push, signature, weights


def test_refs_and_commits_follow_versions_and_aliases(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path
) -> None:
    ns = namespace.name
    with live_server.client(namespace.write_token) as client:
        for seed in (60, 61, 62):
            push(client, ns, "net", weights(seed))
        push(client, ns, "fog", signature(["head.bias"], 11)[0], kind="rws")
        client.put(f"/v1/models/{ns}/net/aliases/prod", json={"version": 2}).raise_for_status()
    repo = f"{ns}/net"
    api = HfApi(endpoint=live_server.url, token=namespace.read_token)
    sha = {version: api.model_info(repo, revision=f"v{version}").sha for version in (1, 2, 3)}

    refs = api.list_repo_refs(repo)
    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", sha[3])]
    assert [(t.name, t.ref, t.target_commit) for t in refs.tags] == [("prod", "refs/tags/prod", sha[2])]

    assert [c.commit_id for c in api.list_repo_commits(repo)] == [sha[3], sha[2], sha[1]]
    assert [c.title for c in api.list_repo_commits(repo, revision="prod")] == ["v2 (base)", "v1 (base)"]
    composed = api.list_repo_commits(repo, revision=f"v1+{ns}~fog=0.5")
    assert composed[0].commit_id == api.model_info(repo, revision=f"v1+{ns}~fog=0.5").sha
    assert [c.commit_id for c in composed[1:]] == [sha[1]]
