"""Ids of rows with a plain INTEGER key (tokens, job log lines) are 32-bit on Postgres: an id past that is a 422
on every backend (it was a 500 on Postgres: integer out of range), one within it finds nothing, and nothing
changes."""

from __future__ import annotations

from registry.numbers import MAX_ROW_ID
from tests.fixtures.services import LiveServer, NamespaceAccess


def test_row_ids_past_32_bits_are_422(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    ns = namespace.name
    params = {"output_model": f"{ns}/trained", "arch": "resnet20", "epochs": 1}
    with live_server.client() as admin:
        job = admin.post("/v1/jobs", json={"kind": "train", "namespace": ns, "params": params}).json()["id"]
        tokens = admin.get("/v1/tokens").json()
        for past in (MAX_ROW_ID + 1, 2**40, 2**63 - 1):
            logs = admin.get(f"/v1/jobs/{job}/logs", params={"after": past})
            assert logs.status_code == 422 and set(logs.json()) == {"error", "detail"}, (past, logs.text)
            events = admin.get(f"/v1/jobs/{job}/events", headers={"Last-Event-ID": str(past)})
            assert events.status_code == 422, (past, events.text)
            revoked = admin.delete(f"/v1/tokens/{past}")
            assert revoked.status_code == 422 and set(revoked.json()) == {"error", "detail"}, (past, revoked.text)
        assert admin.get(f"/v1/jobs/{job}/logs", params={"after": MAX_ROW_ID}).json() == []
        assert admin.delete(f"/v1/tokens/{MAX_ROW_ID}").status_code == 404
        assert admin.get("/v1/tokens").json() == tokens
