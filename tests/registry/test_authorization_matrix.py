"""Every route x every kind of token: no token is 401; a namespace the token cannot read answers exactly as if
the object did not exist (404, or the 422 a missing reference in a body gets); in its own namespace a token
gets what its role allows and 403 beyond it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess, make_namespace
from tests.registry.artifact_helpers import create_model, upload

GHOST_ID = "0" * 32


@dataclass(frozen=True)
class World:
    ns: str
    model: str
    artifact: str
    job: str
    upload: str


def make_world(server: LiveServer, access: NamespaceAccess) -> World:
    with server.client(access.write_token) as client:
        create_model(client, access.name)
        artifact = upload(client, access.name, tiny_model_bytes(seed=327)).json()["id"]
        staged = client.post(f"/v1/models/{access.name}/net/uploads", json={"kind": "base"}).json()["id"]
        job = client.post("/v1/jobs", json=demo_job(access.name)).json()["id"]
    return World(ns=access.name, model="net", artifact=artifact, job=job, upload=staged)


def demo_job(namespace: str) -> dict[str, object]:
    params = {"output_model": f"{namespace}/demos", "num_expert": 1, "num_random": 0}
    return {"kind": "generate_uva_demos", "namespace": namespace, "params": params}


META = {"metadata": {"k": 1}}


def new_model(namespace: str) -> dict[str, str]:
    return {"namespace": namespace, "name": f"m-{uuid.uuid4().hex[:6]}", "arch": "a"}


Call = Callable[[httpx.Client, World], httpx.Response]
# (name, least role, call)
ROUTES: list[tuple[str, str, Call]] = [
    ("get model", "read", lambda c, w: c.get(f"/v1/models/{w.ns}/{w.model}")),
    ("list artifacts", "read", lambda c, w: c.get(f"/v1/models/{w.ns}/{w.model}/artifacts")),
    ("artifact by ref", "read", lambda c, w: c.get(f"/v1/models/{w.ns}/{w.model}/artifacts/latest")),
    ("list aliases", "read", lambda c, w: c.get(f"/v1/models/{w.ns}/{w.model}/aliases")),
    ("get artifact", "read", lambda c, w: c.get(f"/v1/artifacts/{w.artifact}")),
    ("tensors", "read", lambda c, w: c.get(f"/v1/artifacts/{w.artifact}/tensors")),
    ("download", "read", lambda c, w: c.get(f"/v1/artifacts/{w.artifact}/file")),
    ("get job", "read", lambda c, w: c.get(f"/v1/jobs/{w.job}")),
    ("job logs", "read", lambda c, w: c.get(f"/v1/jobs/{w.job}/logs")),
    ("list models", "read", lambda c, w: c.get("/v1/models", params={"namespace": w.ns})),
    ("list jobs", "read", lambda c, w: c.get("/v1/jobs", params={"namespace": w.ns})),
    ("compose", "read", lambda c, w: c.post("/v1/compositions", json={"base": w.artifact})),
    ("compose by name", "read", lambda c, w: c.post("/v1/compositions", json={"base": f"{w.ns}/{w.model}@latest"})),
    ("set alias", "write", lambda c, w: c.put(f"/v1/models/{w.ns}/{w.model}/aliases/prod", json={"version": 1})),
    ("delete alias", "write", lambda c, w: c.delete(f"/v1/models/{w.ns}/{w.model}/aliases/prod")),
    ("patch metadata", "write", lambda c, w: c.patch(f"/v1/artifacts/{w.artifact}/metadata", json=META)),
    ("create model", "write", lambda c, w: c.post("/v1/models", json=new_model(w.ns))),
    ("start upload", "write", lambda c, w: c.post(f"/v1/models/{w.ns}/{w.model}/uploads", json={"kind": "base"})),
    ("get upload", "write", lambda c, w: c.get(f"/v1/uploads/{w.upload}")),
    ("upload", "write", lambda c, w: upload(c, w.ns, tiny_model_bytes(seed=328), name=w.model)),
    ("submit job", "write", lambda c, w: c.post("/v1/jobs", json=demo_job(w.ns))),
    ("cancel job", "write", lambda c, w: c.post(f"/v1/jobs/{w.job}/cancel")),
    ("delete model", "admin", lambda c, w: c.delete(f"/v1/models/{w.ns}/doomed")),
]  # fmt: skip
RANK = {"read": 0, "write": 1, "admin": 2}


@pytest.fixture
def worlds(live_server: LiveServer) -> tuple[World, World, dict[str, str]]:
    own, other = make_namespace(live_server, "alpha"), make_namespace(live_server, "beta")
    with live_server.client() as admin:
        admin_token = admin.post("/v1/tokens", json={"name": "a", "role": "admin", "namespace": own.name}).json()
        for access in (own, other):
            create_model(admin, access.name, "doomed")
    tokens = {"read": own.read_token, "write": own.write_token, "admin": admin_token["token"]}
    return make_world(live_server, own), make_world(live_server, other), tokens


def as_missing(_world: World) -> World:
    return World(ns="ghost-ns", model="ghost", artifact=GHOST_ID, job=GHOST_ID, upload=GHOST_ID)


def masked(answer: httpx.Response, world: World) -> dict[str, str]:
    """The answer with the world's names and ids replaced by placeholders, to compare two worlds' answers."""
    detail = answer.json()["detail"].replace(world.ns, "<ns>").replace(world.model, "<model>")
    for object_id in (world.artifact, world.job, world.upload):
        detail = detail.replace(object_id, "<id>")
    return {"error": answer.json()["error"], "detail": detail}


def test_every_route_for_every_token(live_server: LiveServer, worlds: tuple[World, World, dict[str, str]]) -> None:
    own, other, tokens = worlds
    with httpx.Client(base_url=live_server.url, timeout=60) as anonymous:
        for name, _role, call in ROUTES:
            assert call(anonymous, own).status_code == 401, name
    for token_role in ("read", "write", "admin"):  # admin last: it deletes 'doomed'
        with live_server.client(tokens[token_role]) as client:
            for name, least, call in ROUTES:
                hidden, missing = call(client, other), call(client, as_missing(other))
                assert hidden.status_code == missing.status_code and hidden.status_code in (404, 422), (
                    name,
                    token_role,
                )
                assert masked(hidden, other) == masked(missing, as_missing(other)), (name, token_role)
                answer = call(client, own)
                if RANK[token_role] >= RANK[least]:
                    assert answer.status_code < 400 or (name, answer.status_code) == ("cancel job", 409), (
                        name,
                        token_role,
                        answer.text,
                    )
                else:
                    assert answer.status_code == 403, (name, token_role, answer.text)


def test_a_parent_in_a_namespace_the_token_cannot_read_does_not_exist(
    live_server: LiveServer, worlds: tuple[World, World, dict[str, str]]
) -> None:
    own, other, tokens = worlds
    with live_server.client(tokens["write"]) as client:
        hidden = upload(client, own.ns, tiny_model_bytes(seed=329), parent=[other.artifact])
        missing = upload(client, own.ns, tiny_model_bytes(seed=329), parent=[GHOST_ID])
        assert hidden.status_code == missing.status_code == 422
        assert hidden.json()["detail"] == missing.json()["detail"].replace(GHOST_ID, other.artifact)
        staged = client.post(f"/v1/models/{own.ns}/net/uploads", json={"kind": "base", "parents": [other.artifact]})
        assert staged.status_code == 422
        versions = client.get(f"/v1/models/{own.ns}/net/artifacts").json()["items"]
        assert [v["version"] for v in versions] == [1]
