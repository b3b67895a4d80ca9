"""`patchhub-server check` sees workers through the broker: a worker busy with a job still counts (its
announcements come from a thread, not from the pool that runs the job), and a stopped one drops out."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from registry.jobs.presence import listening_workers
from registry.resources.health.checks import check_jobs
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.fixtures.workers import WorkerProcess
from tests.workers.jobs.job_helpers import submit, train_params, wait_done, wait_for


def _nodes(broker_url: str) -> set[str]:
    return {worker.node for worker in listening_workers(broker_url)}


def _wait(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.2)


def test_a_busy_worker_still_listens_and_a_stopped_one_leaves(
    jobs_server: LiveServer, jobs_namespace: NamespaceAccess, start_worker: Callable[[], WorkerProcess]
) -> None:
    settings = jobs_server.runtime.settings
    worker = start_worker()
    node = f"patchhub-gpu-cpu-{worker.process.pid}@{socket.gethostname()}"
    _wait(lambda: node in _nodes(settings.broker_url), 120, f"the worker never announced itself: {worker.log_tail()}")

    with jobs_server.client(jobs_namespace.write_token) as client:
        job = submit(client, jobs_namespace.name, "train", train_params(jobs_namespace.name, epochs=200))
        wait_for(client, job["id"], lambda j: j["status"] == "running")
        checks = {check.name: check for check in check_jobs(settings)}
        assert checks["queue cpu"].ok and node in checks["queue cpu"].detail, checks
        assert checks["queue gpu"].ok and node in checks["queue gpu"].detail, checks
        client.post(f"/v1/jobs/{job['id']}/cancel").raise_for_status()
        assert wait_done(client, job["id"])["status"] == "cancelled"

    worker.stop()
    _wait(lambda: node not in _nodes(settings.broker_url), 30, "a stopped worker still counts as listening")
