from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.services import (  # noqa: F401
    LiveServer,
    NamespaceAccess,
    backend_settings,
    postgres_url,
    start_live_server,
)
from tests.fixtures.workers import RedisServer, WorkerProcess, redis_server  # noqa: F401


@pytest.fixture(scope="session")
def jobs_server(
    postgres_url: str,  # noqa: F811
    s3_endpoint: str,
    redis_server: RedisServer,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """The API on Postgres + S3 with a private Redis as broker; short leases so recovery is quick."""
    settings = backend_settings("postgres-s3", tmp_path_factory.mktemp("jobs"), postgres_url, s3_endpoint)
    settings = settings.model_copy(
        update={"broker_url": redis_server.url, "job_lease_seconds": 3, "job_sweep_seconds": 1},
    )
    settings.model_fields_set.update({"broker_url", "job_lease_seconds", "job_sweep_seconds"})
    live, server, thread = start_live_server(settings, "jobs")
    yield live
    server.should_exit = True
    thread.join(timeout=10)
    live.runtime.close()


@pytest.fixture
def start_worker(jobs_server: LiveServer, tmp_path: Path) -> Iterator[Callable[[], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        worker = WorkerProcess(jobs_server.runtime.settings, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def jobs_namespace(jobs_server: LiveServer) -> NamespaceAccess:
    name = f"jobs-{uuid.uuid4().hex[:8]}"
    with jobs_server.client() as admin:
        admin.post("/v1/namespaces", json={"name": name}).raise_for_status()
        write = admin.post("/v1/tokens", json={"name": "w", "role": "write", "namespace": name}).json()["token"]
        read = admin.post("/v1/tokens", json={"name": "r", "role": "read", "namespace": name}).json()["token"]
    return NamespaceAccess(name=name, write_token=write, read_token=read)
