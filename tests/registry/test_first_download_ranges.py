"""A Range request that is the first download of a composition waits for the whole computation, which commits the
composition's row: the request must not hold a lock or an uncommitted row the computation needs. Before the fix a
fresh token (whose first use writes its last_used_at) hung on SQLite, and a recipe first named by a Hub revision
hung on Postgres (the computation could not see its row and started again, for ever)."""

from __future__ import annotations

import numpy as np

from patchhub.signature import quantize_signature
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, upload
from tests.registry.folder_helpers import SHARD_2, SHARDED_SHAPES, push_folder, sharded_folder
from tests.registry.hf.repos import signature, weights

SECONDS = 20  # a computation of these sizes takes well under a second; a hang meets the client's timeout


def fresh_reader(server: LiveServer, namespace: str) -> str:
    with server.client() as admin:
        answer = admin.post("/v1/tokens", json={"name": "fresh", "role": "read", "namespace": namespace})
        return str(answer.json()["token"])


def test_a_range_first_on_a_fresh_token_is_answered(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    ns = namespace.name
    with live_server.client(namespace.write_token) as client:
        create_model(client, ns)
        create_model(client, ns, name="fog")
        upload(client, ns, weights(60)).raise_for_status()
        upload(client, ns, signature(["head.bias"], 60)[0], name="fog", kind="rws").raise_for_status()
        recipe = {"base": f"{ns}/net", "patches": [{"artifact": f"{ns}/fog", "scale": 0.5}]}
        composition = client.post("/v1/compositions", json=recipe).json()["id"]
    with live_server.client(fresh_reader(live_server, ns)) as reader:
        reader.timeout = SECONDS
        part = reader.get(f"/v1/compositions/{composition}/file", headers={"Range": "bytes=0-7"})
        assert part.status_code == 206 and len(part.content) == 8
        whole = reader.get(f"/v1/compositions/{composition}/file").content
        assert part.content == whole[:8]


def test_a_range_first_on_a_composed_shard_is_answered(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    ns = namespace.name
    folder, _ = sharded_folder(seed=61)
    delta = {"head.weight": np.full(SHARDED_SHAPES[SHARD_2]["head.weight"], 0.02, dtype=np.float32)}
    with live_server.client(namespace.write_token) as client:
        create_model(client, ns, arch="tiny")
        create_model(client, ns, name="fog", arch="tiny")
        base = push_folder(client, ns, "net", folder)["id"]
        fog = quantize_signature(delta, bits=8, metadata={"arch": "tiny"}).to_bytes()
        fog_id = upload(client, ns, fog, name="fog", kind="rws").json()["id"]
        recipe = {"base": base, "patches": [{"artifact": fog_id, "scale": 0.5}]}
        composition = client.post("/v1/compositions", json=recipe).json()["id"]
    with live_server.client(fresh_reader(live_server, ns)) as reader:
        reader.timeout = SECONDS
        url = f"/v1/compositions/{composition}/files/{SHARD_2}"
        part = reader.get(url, headers={"Range": "bytes=-16"})
        assert part.status_code == 206 and len(part.content) == 16
        assert part.content == reader.get(url).content[-16:]
