"""A queued job whose broker message was lost (Redis restarted without persistence) is sent again by a
worker's sweeper and runs exactly once."""

from __future__ import annotations

from collections.abc import Callable

from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.fixtures.workers import RedisServer, WorkerProcess
from tests.workers.jobs.job_helpers import submit, upload_untrained_checkpoint, wait_done


def test_a_job_queued_before_a_redis_restart_still_runs_once(
    jobs_server: LiveServer,
    jobs_namespace: NamespaceAccess,
    start_worker: Callable[[], WorkerProcess],
    redis_server: RedisServer,
) -> None:
    with jobs_server.client(jobs_namespace.write_token) as client:
        checkpoint = upload_untrained_checkpoint(client, jobs_namespace.name)
        job = submit(client, jobs_namespace.name, "evaluate", {"artifact": checkpoint, "image_size": 8})
        assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "queued"  # no worker runs yet
        redis_server.stop()
        redis_server.start()  # same port, empty: the job's message is gone
        worker = start_worker()
        done = wait_done(client, job["id"], timeout=90)
        assert done["status"] == "succeeded", worker.log_tail()
        assert done["attempts"] == 1
        evaluations = client.get(f"/v1/artifacts/{checkpoint}").json()["metadata"]["evaluations"]
        assert [e["job"] for e in evaluations] == [job["id"]]
