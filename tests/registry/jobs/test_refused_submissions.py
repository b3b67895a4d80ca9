"""A refused submission leaves nothing, whoever commits the request: the API rolls back on the error, the web form
answers it as a page in a transaction that commits (issue 11: the request owns the transaction, services flush)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from registry.auth.tokens import authenticate
from registry.db.session import transaction
from registry.errors import Conflict
from registry.jobs import service
from registry.models import Job, Namespace
from registry.resources.namespaces.service import get_namespace
from tests.fixtures.services import LiveServer, NamespaceAccess


def train(namespace: str, output: str) -> dict[str, Any]:
    return {"output_model": f"{namespace}/{output}", "arch": "resnet20", "epochs": 1}


def test_a_submission_that_loses_its_key_to_other_params_leaves_no_output_model(
    live_server: LiveServer, namespace: NamespaceAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two submissions with one Idempotency-Key and different params race: the loser created its output model
    before its job row met the key's unique index. Its Conflict undoes that model even when the transaction
    then commits, as the web form's does when it shows the error."""
    ns = namespace.name
    with live_server.client(namespace.write_token) as client:
        first = client.post(
            "/v1/jobs",
            json={"kind": "train", "namespace": ns, "params": train(ns, "first")},
            headers={"Idempotency-Key": "race"},
        )
        assert first.status_code == 201, first.text
    looked_up = service._job_with_key

    def first_look_misses(session: Session, owner: Namespace, key: str) -> Job | None:
        # The loser's first look for the key comes before the winner commits; later ones find the winner.
        monkeypatch.setattr(service, "_job_with_key", looked_up)
        return None

    monkeypatch.setattr(service, "_job_with_key", first_look_misses)
    with transaction(live_server.runtime.session_factory) as session:  # commits when the block ends
        principal = authenticate(session, f"Bearer {namespace.write_token}")
        with pytest.raises(Conflict, match="different params"):
            service.submit_job(session, principal, get_namespace(session, ns), "train", train(ns, "second"), "race")
    with live_server.client(namespace.write_token) as client:
        assert client.get(f"/v1/models/{ns}/second").status_code == 404
        assert client.get(f"/v1/models/{ns}/first").status_code == 200
        assert [job["id"] for job in client.get("/v1/jobs", params={"namespace": ns}).json()["items"]] == [
            first.json()["id"]
        ]
