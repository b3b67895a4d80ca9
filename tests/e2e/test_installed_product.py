"""Outside in: the wheels installed without dev extras, the API and two workers (queues cpu and gpu) as their
own processes on Postgres, Redis and S3, bootstrapped with the documented commands, and one user's whole story
driven through the installed `patchhub` command: bytes are checked by sha256, jobs by the queue they ran on."""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.installs import Installs
from tests.e2e.stack import Cli, Service, compose_settings, process_env, run, sha256_of, wait_ready, wait_until
from tests.fixtures.services import POSTGRES_ADMIN_URL, drop_postgres_database, free_port
from tests.fixtures.workers import RedisServer

JOB_TIMEOUT_S = "240"
# Building the wheels and virtualenvs (the first test's setup) takes minutes on a busy two-core machine.
pytestmark = pytest.mark.timeout(1500)


def test_the_api_install_has_no_ml_stack_and_its_worker_says_what_is_missing(
    installs: Installs, tmp_path: Path
) -> None:
    assert installs.api.has_module("registry.app") and installs.api.has_module("kombu.transport.redis")
    assert not installs.api.has_module("torch") and not installs.api.has_module("sklearn")
    assert installs.worker.has_module("torch") and installs.worker.has_module("sklearn")
    assert not installs.client.has_module("registry"), "the client distribution ships only the SDK"
    env = process_env(installs.api, tmp_path, {"PATCHHUB_BROKER_URL": "redis://127.0.0.1:1/0"})
    result = run(["patchhub-server", "worker", "--queues", "cpu"], env, tmp_path, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: the worker needs torch, which is not installed: pip install 'patchhub-server[worker]'"
    )

    # The embedded default serves from this install too, and says why it starts no worker.
    port = free_port()
    embedded_env = process_env(installs.api, tmp_path / "home", {"PATCHHUB_DATA_DIR": str(tmp_path / "data")})
    serve = Service(["patchhub-server", "serve", "--port", str(port)], embedded_env, tmp_path / "serve", "serve")
    try:
        wait_ready(f"http://127.0.0.1:{port}", serve)
        assert "jobs: no worker started (torch is not installed: pip install 'patchhub-server[worker]')" in serve.log()
    finally:
        serve.stop()


@dataclass
class Stack:
    url: str
    workers: dict[str, Service]  # queue -> the worker consuming only that queue
    admin_token: str


@pytest.fixture
def stack(installs: Installs, s3_endpoint: str, tmp_path: Path) -> Iterator[Stack]:
    redis = RedisServer()
    redis.start()
    database_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/patchhub_e2e_{uuid.uuid4().hex[:10]}"
    settings = {
        "PATCHHUB_DATABASE_URL": database_url,  # does not exist yet: `db create` makes it
        "PATCHHUB_BLOB_URL": f"s3://e2e-{uuid.uuid4().hex[:10]}/registry",  # nor does the bucket
        "PATCHHUB_S3_ENDPOINT_URL": s3_endpoint,
        # Presigned transfers: clients reach the store where the API does (compose: the host's MinIO port).
        "PATCHHUB_S3_PUBLIC_ENDPOINT_URL": s3_endpoint,
        "PATCHHUB_S3_ACCESS_KEY_ID": "testing",
        "PATCHHUB_S3_SECRET_ACCESS_KEY": "testing",
        "PATCHHUB_BROKER_URL": redis.url,
        "PATCHHUB_SESSION_SECRET": uuid.uuid4().hex,  # as .env gives every API replica the same one
    }

    def role_env(venv_role: str, name: str) -> dict[str, str]:
        venv = getattr(installs, venv_role)
        data_dir = tmp_path / name / "data"  # one volume per service, as in docker-compose.yml
        env = process_env(venv, tmp_path / name / "home", {**settings, "PATCHHUB_DATA_DIR": str(data_dir)})
        assert {k for k in env if k.startswith("PATCHHUB_")} == compose_settings()
        return env

    operator_env = role_env("api", "operator")
    started: list[Service] = []
    try:
        bootstrap = [["db", "create"], ["db", "upgrade"], ["storage", "init"]]
        for command in bootstrap:  # what docker-compose.yml's bootstrap service runs
            result = run(["patchhub-server", *command], operator_env, tmp_path)
            assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
        port = free_port()
        serve = ["patchhub-server", "serve", "--host", "127.0.0.1", "--port", str(port)]
        api = Service(serve, role_env("api", "api"), tmp_path / "api", "api")
        started.append(api)
        workers = {}
        for queue in ("cpu", "gpu"):
            command = ["patchhub-server", "worker", "--queues", queue, "--concurrency", "1"]
            workers[queue] = Service(command, role_env("worker", f"worker-{queue}"), tmp_path / queue, queue)
            started.append(workers[queue])
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, api)
        banner = api.log()
        assert f"database: {database_url}" in banner and "***" not in banner  # no password, so no stars

        def all_listening() -> subprocess.CompletedProcess[str] | None:
            for service in started:
                assert service.process.poll() is None, f"{service.name} exited:\n{service.log()}"
            result = run(["patchhub-server", "check"], operator_env, tmp_path)
            assert "FAIL  broker" not in result.stdout, result.stdout
            return result if result.returncode == 0 else None

        # workers import torch; on a loaded 2-core machine that takes a while
        checked = wait_until(all_listening, timeout=300, message="the workers never listened on their queues")
        assert "ok    queue gpu: 1 worker(s)" in checked.stdout and "ok    queue cpu: 1 worker(s)" in checked.stdout
        own = run(["patchhub-server", "check", "--local-worker"], role_env("worker", "worker-cpu"), tmp_path)
        assert own.returncode == 0, own.stdout  # the workers' container healthcheck

        admin = run(["patchhub-server", "token", "create", "--name", "ops", "--role", "admin"], operator_env, tmp_path)
        assert admin.returncode == 0, admin.stderr
        yield Stack(url, workers, admin.stdout.strip().splitlines()[-1])
    finally:
        for service in started:
            service.terminate()
        for service in started:
            service.stop()
        redis.stop()
        drop_postgres_database(database_url)


def submit(cli: Cli, kind: str, **params: Any) -> dict[str, Any]:
    job: dict[str, Any] = cli.json(
        "jobs", "submit", kind, "--namespace", "story", "--params-json", json.dumps(params),
        "--wait", "--timeout", JOB_TIMEOUT_S,
    )  # fmt: skip
    assert job["status"] == "succeeded", job
    return job


def test_a_user_story_through_the_installed_cli(stack: Stack, installs: Installs, tmp_path: Path) -> None:
    from workers.jobs.io import build_model, checkpoint_bytes  # the user's own torch, making a base to push

    cli = Cli(installs.client, tmp_path / "user")
    ops = Cli(installs.client, tmp_path / "ops")
    ops("--url", stack.url, "--token", stack.admin_token, "namespaces", "create", "story")
    created = ops.json("--url", stack.url, "--token", stack.admin_token, "tokens", "create",
                       "--name", "alice", "--role", "write", "--namespace", "story")  # fmt: skip
    assert "Logged in" in cli("--url", stack.url, "--token", created["secret"], "login")

    for name in ("story/base", "story/rws-noise"):
        cli("models", "create", name, "--arch", "resnet20")
    network, config = build_model("resnet20", {})
    base_file = tmp_path / "base.safetensors"
    base_file.write_bytes(checkpoint_bytes(network, "resnet20", config))
    pushed = cli.json("push", str(base_file), "story/base", "--kind", "base")
    assert pushed["sha256"] == sha256_of(base_file)

    small = {"image_size": 8, "epochs": 1, "batch_size": 128}
    clean = submit(cli, "train", output_model="story/clean", arch="resnet20", init="story/base@latest", **small)
    noisy = submit(
        cli, "corrupt_dataset", output_model="story/digits-noise", corruption="gaussian_noise", severity=3,
        image_size=8, device="gpu",
    )  # fmt: skip
    robust = submit(
        cli, "train", output_model="story/robust", arch="resnet20", init="story/clean@latest",
        dataset="story/digits-noise@latest", epochs=1, batch_size=128,
    )  # fmt: skip
    signature = submit(
        cli, "extract_rws", output_model="story/rws-noise", clean="story/clean@latest", robust="story/robust@latest",
        reference="story/base@latest", corruption="gaussian_noise", severity=3, device="gpu",
    )  # fmt: skip
    evaluated = submit(
        cli, "evaluate", artifact="story/robust@latest", corruptions=["gaussian_noise"], severities=[3], image_size=8
    )

    hostname = socket.gethostname()
    for job, queue in [(clean, "cpu"), (noisy, "gpu"), (robust, "cpu"), (signature, "gpu"), (evaluated, "cpu")]:
        assert job["queue"] == queue, job
        assert job["worker"] == f"{hostname}:{stack.workers[queue].pid}", (job["kind"], job["worker"])

    # The service composes base + signature; the client composes the same recipe here: the same bytes.
    served_file = tmp_path / "composed-there.safetensors"
    served = cli.json(
        "compose", "story/clean@latest", "+story/rws-noise@latest*1.0", "--on-server", "-o", str(served_file)
    )
    assert Path(served["path"]) == served_file and served["composition"]
    local_file = tmp_path / "composed-here.safetensors"
    cli("compose", "story/clean@latest", "+story/rws-noise@latest*1.0", "-o", str(local_file))
    assert sha256_of(local_file) == sha256_of(served_file)
    clean_file = tmp_path / "clean.safetensors"
    cli("pull", "story/clean@latest", "-o", str(clean_file))
    assert sha256_of(clean_file) != sha256_of(local_file)  # the signature changed the weights

    pulled = tmp_path / "pulled-base.safetensors"
    cli("pull", "story/base@latest", "-o", str(pulled))
    assert sha256_of(pulled) == sha256_of(base_file)
    latest = max(cli.json("ls", "story/robust"), key=lambda artifact: artifact["version"])
    robust_pulled = tmp_path / "robust.safetensors"
    cli("pull", "story/robust@latest", "-o", str(robust_pulled))
    assert sha256_of(robust_pulled) == latest["sha256"]
    assert robust["outputs"] == [latest["id"]]  # the robust training job registered exactly this artifact
    assert sha256_of(robust_pulled) != sha256_of(base_file)  # training changed the weights

    report = cli("report", "story/robust@latest")
    assert "gaussian_noise" in report and "SEV 3" in report, report
    deltas = cli("report", "story/rws-noise@latest")
    assert "layers kept at 8 bits" in deltas, deltas  # the signature's per-layer deltas
