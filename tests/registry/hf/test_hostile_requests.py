"""Hostile requests on the Hugging Face protocol, against a live server: revisions that are huge, malformed
recipes, scales that are no finite number or overflow, too many signatures, unknown namespaces, bad paths and
malformed Range headers. Each is a clear 4xx (the Hub's X-Error-Code where a client reads one; a Range the
server does not take is answered whole, as RFC 9110 allows), never a 500, and no composition is registered."""

from __future__ import annotations

import http.client
from urllib.parse import quote, urlparse

import httpx
from sqlalchemy import func, select

from registry.db.session import transaction
from registry.models import Composition
from tests.fixtures.services import LiveServer, NamespaceAccess, make_namespace
from tests.registry.hf.repos import push, signature, weights
from tests.registry.range_checks import check_malformed_ranges

FILE = "model.safetensors"


def hostile_revisions(ns: str, signature_id: str) -> dict[str, str]:
    fog = f"{ns}~fog"
    return {
        "over 4096 characters": "v" * 5000,
        "4096 characters": "v" * 4096,
        "65 signatures": "main" + f"+{fog}=0.1" * 65,
        "NaN": f"main+{fog}=nan",
        "inf": f"main+{fog}=inf",
        "1e309": f"main+{fog}=1e309",
        "-1e309": f"main+{fog}=-1e309",
        "a 401-digit scale": f"main+{fog}=1" + "0" * 400,
        "a scale that overflows the weights": f"main+{fog}=1e308",
        "hex scale": f"main+{fog}=0x10",
        "plus-signed scale": f"main+{fog}=+1",
        "two scales": f"main+{fog}=1=2",
        "empty signature": "main++",
        "no base": f"+{fog}",
        "nested selectors": f"main+{fog}@v1@v1",
        "tildes": "main+" + "~" * 100,
        "brackets": "(" * 3000,
        "recipe as base": f"main+{fog}@main+{fog}",
        "a '/' in the signature": f"main+{ns}/fog",
        "unknown signature namespace": "main+nowhere~fog",
        "64 unknown signatures": "main" + "+nowhere~fog@v1=1" * 64,
        "unknown artifact id": "main+" + "0" * 32,
        "the base as its own patch": f"main+{ns}~net",
        "sha of nothing": "0" * 40,
        "composition id of nothing": "0" * 64,
        "a signature id with a huge scale": f"main+{signature_id}=1e308",
        "refs/pr": "refs/pr/1",
        "dot dot": "..",
    }


def compositions(server: LiveServer) -> int:
    with transaction(server.runtime.session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(Composition)) or 0)


def assert_hub_miss(answer: httpx.Response, code: str, what: str) -> None:
    assert answer.status_code == 404, (what, answer.status_code, answer.text)
    assert answer.headers["x-error-code"] == code, (what, answer.headers)
    assert answer.headers["x-error-message"], what


def test_hostile_revisions_are_revision_not_found_and_register_nothing(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    ns = namespace.name
    with live_server.client(namespace.write_token) as client:
        push(client, ns, "net", weights(40))
        signature_id = push(client, ns, "fog", signature(["encoder.weight"], 40)[0], kind="rws")["id"]
    before = compositions(live_server)
    with live_server.client(namespace.read_token) as client:
        for what, revision in hostile_revisions(ns, signature_id).items():
            rev = quote(revision, safe="").replace(".", "%2E")  # httpx would resolve a bare ".."
            for method, path in (
                ("GET", f"/{ns}/net/resolve/{rev}/{FILE}"),
                ("HEAD", f"/{ns}/net/resolve/{rev}/{FILE}"),
                ("GET", f"/api/models/{ns}/net/revision/{rev}"),
                ("GET", f"/api/models/{ns}/net/tree/{rev}"),
                ("GET", f"/api/models/{ns}/net/commits/{rev}"),
            ):
                assert_hub_miss(client.request(method, path), "RevisionNotFound", f"{what}: {method} {path[:80]}")
            if "/" not in revision:  # see test_paths_info_of_a_revision_with_a_slash_is_revision_not_found
                listed = client.post(f"/api/models/{ns}/net/paths-info/{rev}", data={"paths": [FILE]})
                assert_hub_miss(listed, "RevisionNotFound", f"{what}: paths-info")
    assert compositions(live_server) == before
    with live_server.client(namespace.read_token) as client:  # and a recipe that composes still does
        assert client.head(f"/{ns}/net/resolve/main+{ns}~fog=0.5/{FILE}").status_code == 200
    assert compositions(live_server) == before + 1


def test_paths_info_of_a_revision_with_a_slash_is_revision_not_found(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    """huggingface_hub quotes the revision (refs/pr/1 -> refs%2Fpr%2F1) and the server decodes it: the read must
    still reach the revision parser, as model_info's does, not the refusal of writes under /api/."""
    ns = namespace.name
    with live_server.client(namespace.write_token) as client:
        push(client, ns, "net", weights(44))
    with live_server.client(namespace.read_token) as client:
        for revision in ("refs/pr/1", f"main+{ns}/fog"):
            rev = quote(revision, safe="").replace(".", "%2E")  # httpx would resolve a bare ".."
            listed = client.post(f"/api/models/{ns}/net/paths-info/{rev}", data={"paths": [FILE]})
            assert_hub_miss(listed, "RevisionNotFound", f"paths-info at {revision}")


def test_a_request_target_too_long_for_the_server_is_400(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    url = urlparse(live_server.url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    try:
        target = f"/{namespace.name}/net/resolve/{'v' * 200_000}/{FILE}"
        connection.request("GET", target, headers={"Authorization": f"Bearer {namespace.read_token}"})
        assert connection.getresponse().status == 400
    finally:
        connection.close()
    with httpx.Client(base_url=live_server.url, timeout=10) as probe:
        assert probe.get("/healthz").status_code == 200


def test_unknown_and_unreadable_namespaces_are_repo_not_found(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    other = make_namespace(live_server, prefix="other")
    with live_server.client(other.write_token) as client:
        push(client, other.name, "net", weights(41))
    with live_server.client(namespace.read_token) as client:
        for repo in ("nowhere-0000/net", f"{other.name}/net", f"{namespace.name}/nothing", f"{'n' * 500}/{'m' * 500}"):
            for method, path in (
                ("GET", f"/api/models/{repo}"),
                ("GET", f"/api/models/{repo}/revision/main"),
                ("GET", f"/api/models/{repo}/tree/main"),
                ("GET", f"/api/models/{repo}/refs"),
                ("HEAD", f"/{repo}/resolve/main/{FILE}"),
                ("GET", f"/{repo}/resolve/main/{FILE}"),
            ):
                assert_hub_miss(client.request(method, path), "RepoNotFound", f"{method} {path[:80]}")


def test_bad_paths_are_entry_not_found(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    ns = namespace.name
    with live_server.client(namespace.write_token) as client:
        push(client, ns, "net", weights(42))
    with live_server.client(namespace.read_token) as client:
        for path in ("%2e%2e%2fconfig.json", "%2e%2e/%2e%2e/etc/passwd", "..%5cmodel.safetensors", "x" * 5000, "%00"):
            answer = client.get(f"/{ns}/net/resolve/main/{path}")
            assert answer.status_code in (404, 422), (path, answer.status_code)
            if answer.status_code == 404:
                assert answer.headers["x-error-code"] == "EntryNotFound", path
        assert_hub_miss(client.get(f"/api/models/{ns}/net/tree/main/%2e%2e"), "EntryNotFound", "tree ..")
        hostile = ["../model.safetensors", "/etc/passwd", "a\x00b", "x" * 5000, ""]
        listed = client.post(f"/api/models/{ns}/net/paths-info/main", data={"paths": hostile})
        assert listed.status_code == 200 and listed.json() == []
        too_many = client.post(f"/api/models/{ns}/net/paths-info/main", data={"paths": [FILE] * 1001})
        assert 400 <= too_many.status_code < 500


def test_malformed_ranges_are_answered_whole_or_416(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    """On a version's file and on composed weights, a malformed Range the very first request."""
    ns = namespace.name
    data = weights(43)
    with live_server.client(namespace.write_token) as client:
        push(client, ns, "net", data)
        push(client, ns, "fog", signature(["head.bias"], 43)[0], kind="rws")
    with live_server.client(namespace.read_token) as client:
        check_malformed_ranges(client, f"/{ns}/net/resolve/main/{FILE}", data)
        composed_url = f"/{ns}/net/resolve/main+{ns}~fog=0.5/{FILE}"
        client.timeout = 20  # a hang meets it (a computation of this size takes well under a second)
        composed = client.get(composed_url, headers={"Range": "bytes=abc"}).content  # computed on this request
        assert len(composed) == len(data) and composed != data
        check_malformed_ranges(client, composed_url, composed)
