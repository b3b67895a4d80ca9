"""Job throughput with two workers against one, and submit-to-start latency when a worker is free, on Redis.

Starts a private redis-server, `patchhub-server serve` (SQLite metadata, local blobs) and W worker processes
(`patchhub-server worker --concurrency 1`, torch limited to one thread each so a worker is one core). It
times --sequential `evaluate` jobs one after another (submit-to-start p50/p95 from the job rows, a worker
always free), then submits --jobs short `evaluate` jobs at once; their time is from the first submission to the
last job's finished_at, read from the job rows, so the benchmark polls only every --poll seconds and takes little
CPU from the workers (polling every 50 ms cost the server about 0.2 of a core). Run with one worker and then two;
the ratio is two workers' jobs/s over one's. Then, the same again with the workers told to take no jobs while
the 200 are submitted (Celery's cancel_consumer) and to start together after (add_consumer), timed from the
first job's start to the last one's finish: the workers' own scaling, without the API's submissions on the
same 2 cores. --database-url runs the metadata on Postgres instead of SQLite
(a fresh database is created and dropped).

    python bench/job_throughput.py --jobs 200
    python bench/job_throughput.py --jobs 200 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from job_latency import REPO, seconds, wait

from registry.jobs.broker import QUEUES
from tests.fixtures.services import free_port
from workers.jobs.io import build_model, checkpoint_bytes

DONE = ("succeeded", "failed", "cancelled")


def spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not start")


@contextmanager
def fresh_database(server_url: str | None) -> Iterator[str | None]:
    """A new empty database on the Postgres server at ``server_url`` (dropped afterwards), or None: SQLite."""
    if not server_url:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bench_jobs_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wait_all(client: httpx.Client, ids: list[str], poll: float) -> list[dict]:
    """Every job of ``ids`` once finished, asking about the unfinished ones every ``poll`` seconds."""
    done: dict[str, dict] = {}
    while len(done) < len(ids):
        for job_id in ids:
            if job_id not in done:
                job = client.get(f"/v1/jobs/{job_id}").json()
                if job["status"] not in DONE:
                    break  # jobs run about in order: ask about the later ones next time
                if job["status"] != "succeeded":
                    raise RuntimeError(job)
                done[job_id] = job
        else:
            continue
        time.sleep(poll)
    return [done[job_id] for job_id in ids]


@contextmanager
def paused_consumers(broker_url: str, workers: int) -> Iterator[None]:
    """The workers stop taking jobs from their queues while the block submits, and all start again at once
    after it: the drain that follows measures the workers alone, with the API idle."""
    from celery import Celery

    control = Celery("bench", broker=broker_url, set_as_current=False).control
    for queue in QUEUES:
        replies = control.cancel_consumer(queue, reply=True, timeout=10)
        if len(replies) != workers:
            raise RuntimeError(f"{len(replies)} of {workers} workers stopped consuming {queue}: {replies}")
    try:
        yield
    finally:
        for queue in QUEUES:
            control.add_consumer(queue, reply=True, timeout=10)


def run(
    workers: int, jobs: int, sequential: int, poll: float, database_url: str | None
) -> tuple[float, float, list[float]]:
    """(seconds for ``jobs`` jobs submitted at once, seconds to drain ``jobs`` jobs queued while the workers
    took none, submit-to-start seconds of ``sequential`` jobs)."""
    work = Path(tempfile.mkdtemp(prefix=f"patchhub-throughput-{workers}-"))
    redis_port, port = free_port(), free_port()
    redis = spawn(["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"], dict(os.environ))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHHUB_")}
    env.update(
        {
            "PATCHHUB_DATA_DIR": str(work),
            "PATCHHUB_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
            "PYTHONPATH": str(REPO),
            "OMP_NUM_THREADS": "1",
        }
    )
    if database_url:
        env["PATCHHUB_DATABASE_URL"] = database_url
    procs = [spawn([sys.executable, "-m", "registry.cli", "serve", "--port", str(port)], env)]
    procs += [
        spawn([sys.executable, "-m", "registry.cli", "worker", "--queues", "gpu,cpu", "--concurrency", "1"], env)
        for _ in range(workers)
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        token = (work / "admin-token").read_text().strip()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            client.post("/v1/namespaces", json={"name": "bench"}).raise_for_status()
            client.post("/v1/models", json={"namespace": "bench", "name": "net", "arch": "resnet20"})
            model, config = build_model("resnet20", {})
            artifact = client.put(
                "/v1/models/bench/net/artifacts",
                params={"kind": "checkpoint"},
                content=checkpoint_bytes(model, "resnet20", config),
            ).json()["id"]
            body = {
                "kind": "evaluate",
                "namespace": "bench",
                "params": {"artifact": artifact, "image_size": 8, "device": "cpu"},
            }
            for _ in range(2 * workers):  # warm every worker up
                wait(client, client.post("/v1/jobs", json=body).json()["id"])
            latencies = [
                seconds(wait(client, client.post("/v1/jobs", json=body).json()["id"]), "created_at", "started_at")
                for _ in range(sequential)
            ]
            ids = [client.post("/v1/jobs", json=body).json()["id"] for _ in range(jobs)]
            rows = wait_all(client, ids, poll)
            first = min(datetime.fromisoformat(row["created_at"]) for row in rows)
            last = max(datetime.fromisoformat(row["finished_at"]) for row in rows)
            with paused_consumers(env["PATCHHUB_BROKER_URL"], workers):
                queued = [client.post("/v1/jobs", json=body).json()["id"] for _ in range(jobs)]
            drained = wait_all(client, queued, poll)
            started = min(datetime.fromisoformat(row["started_at"]) for row in drained)
            ended = max(datetime.fromisoformat(row["finished_at"]) for row in drained)
            return (last - first).total_seconds(), (ended - started).total_seconds(), latencies
    finally:
        for proc in [*procs, redis]:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--sequential", type=int, default=30)
    parser.add_argument("--poll", type=float, default=0.5)
    parser.add_argument("--database-url", help="Postgres server URL; a fresh database is made on it per run")
    args = parser.parse_args()
    results = {}
    for workers in (1, 2):
        with fresh_database(args.database_url) as url:
            results[workers] = run(workers, args.jobs, args.sequential, args.poll, url)
    for workers, (elapsed, drain, latencies) in results.items():
        print(
            f"{workers} worker(s): {args.jobs} jobs in {elapsed:.1f} s = {args.jobs / elapsed:.1f} jobs/s; "
            f"{args.jobs} queued jobs drained in {drain:.1f} s = {args.jobs / drain:.1f} jobs/s; "
            f"submit-to-start with a free worker p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p95 {statistics.quantiles(latencies, n=20)[18] * 1000:.1f} ms"
        )
    print(f"two workers / one: {results[1][0] / results[2][0]:.2f}x throughput, submitted meanwhile (aim >= 1.8x)")
    print(f"two workers / one: {results[1][1] / results[2][1]:.2f}x throughput, draining a queue (the API idle)")


if __name__ == "__main__":
    main()
