"""A submitted job is sent to its queue once, after its row is committed: a worker woken by the message finds it."""

from __future__ import annotations

import pytest

from registry.db.session import transaction
from registry.jobs import service
from registry.models import Job
from registry.settings import Settings
from tests.fixtures.services import LiveServer, NamespaceAccess


def test_a_job_is_sent_once_its_row_is_committed(
    live_server: LiveServer, namespace: NamespaceAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, bool]] = []

    def enqueue(_settings: Settings, job_id: str, _queue: str) -> None:
        with transaction(live_server.runtime.session_factory) as session:  # another connection, as a worker's
            sent.append((job_id, session.get(Job, job_id) is not None))

    monkeypatch.setattr(service, "enqueue", enqueue)
    params = {"output_model": f"{namespace.name}/trained", "arch": "resnet20", "epochs": 1}
    body = {"kind": "train", "namespace": namespace.name, "params": params}
    with live_server.client(namespace.write_token) as client:
        first = client.post("/v1/jobs", json=body, headers={"Idempotency-Key": "once"})
        replay = client.post("/v1/jobs", json=body, headers={"Idempotency-Key": "once"})
    assert (first.status_code, replay.status_code) == (201, 200)
    assert sent == [(first.json()["id"], True)]
    with transaction(live_server.runtime.session_factory) as session:
        job = session.get(Job, first.json()["id"])
        assert job is not None and job.enqueued_at is not None
