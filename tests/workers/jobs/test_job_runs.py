"""Jobs on real processes: Redis broker, worker subprocesses, Postgres and the S3 endpoint."""

from __future__ import annotations

from collections.abc import Callable

from registry.jobs.broker import enqueue
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.fixtures.workers import RedisServer, WorkerProcess
from tests.workers.jobs.job_helpers import submit, train_params, upload_untrained_checkpoint, wait_done, wait_for


def test_train_reaches_accuracy_and_evaluate_agrees(
    jobs_server: LiveServer, jobs_namespace: NamespaceAccess, start_worker: Callable[[], WorkerProcess]
) -> None:
    worker = start_worker()
    with jobs_server.client(jobs_namespace.write_token) as client:
        job = submit(client, jobs_namespace.name, "train", train_params(jobs_namespace.name))
        done = wait_done(client, job["id"])
        assert done["status"] == "succeeded", (done, worker.log_tail())
        assert done["attempts"] == 1
        top1 = done["result"]["metrics"]["val_top1"]
        assert top1 >= 0.85, done["result"]
        [checkpoint_id] = done["outputs"]
        checkpoint = client.get(f"/v1/artifacts/{checkpoint_id}").json()
        assert checkpoint["kind"] == "checkpoint"
        assert checkpoint["job_id"] == job["id"]
        assert checkpoint["model"] == f"{jobs_namespace.name}/digits-resnet20"
        assert checkpoint["file_metadata"]["patchhub.arch"] == "resnet20"

        evaluation = submit(
            client,
            jobs_namespace.name,
            "evaluate",
            {"artifact": f"{jobs_namespace.name}/digits-resnet20@latest", "image_size": 8, "device": "cpu"},
        )
        assert evaluation["params"]["artifact"] == checkpoint_id  # refs resolve to ids at submission
        evaluated = wait_done(client, evaluation["id"])
        assert evaluated["status"] == "succeeded", worker.log_tail()
        assert abs(evaluated["result"]["metrics"]["top1"] - top1) < 1e-6
        linked = client.get(f"/v1/artifacts/{checkpoint_id}").json()["metadata"]["evaluations"]
        assert linked[-1]["job"] == evaluation["id"]
        logs = client.get(f"/v1/jobs/{job['id']}/logs").json()
        assert any("training resnet20" in line["line"] for line in logs)


def test_killed_worker_job_is_recovered_and_registered_once(
    jobs_server: LiveServer, jobs_namespace: NamespaceAccess, start_worker: Callable[[], WorkerProcess]
) -> None:
    first = start_worker()
    with jobs_server.client(jobs_namespace.write_token) as client:
        job = submit(client, jobs_namespace.name, "train", train_params(jobs_namespace.name, epochs=4))
        wait_for(client, job["id"], lambda j: j["status"] == "running" and j["progress"] > 0.05)
        first.kill()
        start_worker()
        done = wait_done(client, job["id"])
        assert done["status"] == "succeeded", done
        assert done["attempts"] == 2
        assert len(done["outputs"]) == 1
        versions = client.get(f"/v1/models/{jobs_namespace.name}/digits-resnet20/artifacts").json()["items"]
        assert [a["job_id"] for a in versions] == [job["id"]]


def test_duplicate_delivery_runs_the_job_once(
    jobs_server: LiveServer, jobs_namespace: NamespaceAccess, start_worker: Callable[[], WorkerProcess]
) -> None:
    start_worker()
    with jobs_server.client(jobs_namespace.write_token) as client:
        checkpoint = upload_untrained_checkpoint(client, jobs_namespace.name)
        job = submit(client, jobs_namespace.name, "evaluate", {"artifact": checkpoint, "image_size": 8})
        enqueue(jobs_server.runtime.settings, job["id"], job["queue"])  # the same message again
        done = wait_done(client, job["id"])
        assert done["status"] == "succeeded"
        follow_up = submit(client, jobs_namespace.name, "evaluate", {"artifact": checkpoint, "image_size": 8})
        wait_done(client, follow_up["id"])  # queued behind the duplicate, so the duplicate was consumed by now
        assert client.get(f"/v1/jobs/{job['id']}").json()["attempts"] == 1
        evaluations = client.get(f"/v1/artifacts/{checkpoint}").json()["metadata"]["evaluations"]
        assert [e["job"] for e in evaluations] == [job["id"], follow_up["id"]]


def test_cancel_running_job_leaves_no_outputs(
    jobs_server: LiveServer, jobs_namespace: NamespaceAccess, start_worker: Callable[[], WorkerProcess]
) -> None:
    start_worker()
    with jobs_server.client(jobs_namespace.write_token) as client:
        job = submit(client, jobs_namespace.name, "train", train_params(jobs_namespace.name, epochs=50))
        wait_for(client, job["id"], lambda j: j["status"] == "running" and j["progress"] > 0)
        assert client.post(f"/v1/jobs/{job['id']}/cancel").json()["cancel_requested"] is True
        done = wait_done(client, job["id"], timeout=60)
        assert done["status"] == "cancelled"
        assert done["outputs"] == []


def test_failing_job_is_failed_with_the_error_logged(
    jobs_server: LiveServer, jobs_namespace: NamespaceAccess, start_worker: Callable[[], WorkerProcess]
) -> None:
    start_worker()
    with jobs_server.client(jobs_namespace.write_token) as client:
        # Unknown zoo names and config fields are refused at submission; a value the architecture refuses when
        # it is built fails on the worker.
        params = train_params(jobs_namespace.name, arch_config={"bypass": "sideways"})
        job = submit(client, jobs_namespace.name, "train", params)
        done = wait_done(client, job["id"])
        assert done["status"] == "failed"
        assert "bypass must be one of none, depthwise, pointwise, got 'sideways'" in done["error"]
        assert done["outputs"] == []
        logs = "\n".join(line["line"] for line in client.get(f"/v1/jobs/{job['id']}/logs").json())
        assert "Traceback" in logs and "sideways" in logs


def test_worker_survives_a_redis_restart(
    jobs_server: LiveServer,
    jobs_namespace: NamespaceAccess,
    start_worker: Callable[[], WorkerProcess],
    redis_server: RedisServer,
) -> None:
    worker = start_worker()
    with jobs_server.client(jobs_namespace.write_token) as client:
        checkpoint = upload_untrained_checkpoint(client, jobs_namespace.name)
        warmup = submit(client, jobs_namespace.name, "evaluate", {"artifact": checkpoint, "image_size": 8})
        assert wait_done(client, warmup["id"])["status"] == "succeeded"
        redis_server.stop()
        redis_server.start()  # same port, empty: the idle worker must reconnect on its own
        job = submit(client, jobs_namespace.name, "evaluate", {"artifact": checkpoint, "image_size": 8})
        done = wait_done(client, job["id"], timeout=120)
        assert done["status"] == "succeeded", worker.log_tail()
