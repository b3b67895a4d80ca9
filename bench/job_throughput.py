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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from job_latency import REPO, seconds, wait
from ui_pages import cpu_seconds

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
    """Every job of ``ids`` once finished. Every ``poll`` seconds it asks about the last one (jobs run about in
    order); once that one is done it reads all of them in pages of 200, and waits again if any is not done. A
    few requests per run in all: asking about each job (200 GETs) cost the server ~2 ms of CPU per job, taken
    from the workers on the same cores."""
    wanted = set(ids)
    while True:
        if client.get(f"/v1/jobs/{ids[-1]}").json()["status"] in DONE:
            rows: dict[str, dict] = {}
            token = None
            while True:
                params = {"namespace": "bench", "page_size": 200, **({"page_token": token} if token else {})}
                page = client.get("/v1/jobs", params=params).json()
                rows.update((job["id"], job) for job in page["items"] if job["id"] in wanted)
                token = page["next_page_token"]
                if not token:
                    break
            if all(rows[job_id]["status"] in DONE for job_id in ids):
                failed = [rows[job_id] for job_id in ids if rows[job_id]["status"] != "succeeded"]
                if failed:
                    raise RuntimeError(failed[0])
                return [rows[job_id] for job_id in ids]
        time.sleep(poll)


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


@dataclass(frozen=True)
class CpuPerJob:
    """CPU seconds per job while the jobs were submitted and run: the workers', and the rest's (the API,
    Redis and this benchmark's own client), which share the same cores."""

    workers: float
    others: float

    def two_worker_cap(self, one_worker_seconds_per_job: float) -> float:
        """The most two workers on two cores can gain over one worker that took ``one_worker_seconds_per_job``
        when every job costs W (workers) + S (the rest) CPU seconds there: two cannot beat both cores busy,
        (W + S) / 2 per job. With a worker that never waits this is 2W / (W + S)."""
        return one_worker_seconds_per_job / ((self.workers + self.others) / 2)


@dataclass(frozen=True)
class Run:
    submitted: float  # seconds for the jobs submitted at once, first submission to last finish
    drained: float  # seconds to drain as many jobs queued while the workers took none
    latencies: list[float]  # submit-to-start seconds of the sequential jobs
    cpu: CpuPerJob  # measured over the submitted run


def cpu_split(procs: list[subprocess.Popen[bytes]], redis: subprocess.Popen[bytes]) -> tuple[float, float]:
    """(CPU seconds of the workers so far, of the server + Redis + this process): procs[0] is the server."""
    workers = sum(cpu_seconds(proc.pid) for proc in procs[1:])
    return workers, cpu_seconds(procs[0].pid) + cpu_seconds(redis.pid) + time.process_time()


def run(workers: int, jobs: int, sequential: int, poll: float, database_url: str | None) -> Run:
    """One configuration: ``workers`` worker processes, measured as ``Run`` says."""
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
            before = cpu_split(procs, redis)
            ids = [client.post("/v1/jobs", json=body).json()["id"] for _ in range(jobs)]
            rows = wait_all(client, ids, poll)
            after = cpu_split(procs, redis)
            first = min(datetime.fromisoformat(row["created_at"]) for row in rows)
            last = max(datetime.fromisoformat(row["finished_at"]) for row in rows)
            with paused_consumers(env["PATCHHUB_BROKER_URL"], workers):
                queued = [client.post("/v1/jobs", json=body).json()["id"] for _ in range(jobs)]
            drained = wait_all(client, queued, poll)
            started = min(datetime.fromisoformat(row["started_at"]) for row in drained)
            ended = max(datetime.fromisoformat(row["finished_at"]) for row in drained)
            cpu = CpuPerJob(*((a - b) / jobs for a, b in zip(after, before, strict=True)))
            return Run((last - first).total_seconds(), (ended - started).total_seconds(), latencies, cpu)
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
    for workers, result in results.items():
        p50, p95 = statistics.median(result.latencies) * 1000, statistics.quantiles(result.latencies, n=20)[18] * 1000
        print(
            f"{workers} worker(s): {args.jobs} jobs in {result.submitted:.1f} s = {args.jobs / result.submitted:.1f} "
            f"jobs/s; {args.jobs} queued jobs drained in {result.drained:.1f} s = "
            f"{args.jobs / result.drained:.1f} jobs/s; submit-to-start with a free worker p50 "
            f"{p50:.1f} ms, p95 {p95:.1f} ms; CPU per job: workers {result.cpu.workers * 1000:.1f} ms, "
            f"API + Redis + client {result.cpu.others * 1000:.1f} ms"
        )
    one, two = results[1], results[2]
    print(
        f"two workers / one: {one.submitted / two.submitted:.2f}x throughput, submitted meanwhile (aim >= 1.8x); "
        f"at most {one.cpu.two_worker_cap(one.submitted / args.jobs):.2f}x on these cores with the one-worker "
        "run's CPU per job"
    )
    print(f"two workers / one: {one.drained / two.drained:.2f}x throughput, draining a queue (the API idle)")
    print(f"load average {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
