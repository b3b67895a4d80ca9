"""Job throughput with two workers against one, and submit-to-start latency when a worker is free, on Redis.

Starts a private redis-server, `patchhub-server serve` (SQLite metadata, local blobs) and W worker processes
(`patchhub-server worker --concurrency 1`, torch limited to one thread each so a worker is one core). It
times --sequential `evaluate` jobs one after another (submit-to-start p50/p95 from the job rows, a worker
always free), then submits --jobs short `evaluate` jobs at once and times until the last one finished. Run
with one worker and then two; the ratio is two workers' jobs/s over one's.

    python bench/job_throughput.py --jobs 200
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
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from job_latency import REPO, seconds, wait

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


def run(workers: int, jobs: int, sequential: int) -> tuple[float, list[float]]:
    """(seconds for ``jobs`` jobs submitted at once, submit-to-start seconds of ``sequential`` jobs)."""
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
            started = time.perf_counter()
            ids = [client.post("/v1/jobs", json=body).json()["id"] for _ in range(jobs)]
            for job_id in ids:
                wait(client, job_id)
            return time.perf_counter() - started, latencies
    finally:
        for proc in [*procs, redis]:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--sequential", type=int, default=30)
    args = parser.parse_args()
    results = {workers: run(workers, args.jobs, args.sequential) for workers in (1, 2)}
    for workers, (elapsed, latencies) in results.items():
        print(
            f"{workers} worker(s): {args.jobs} jobs in {elapsed:.1f} s = {args.jobs / elapsed:.1f} jobs/s; "
            f"submit-to-start with a free worker p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p95 {statistics.quantiles(latencies, n=20)[18] * 1000:.1f} ms"
        )
    print(f"two workers / one: {results[1][0] / results[2][0]:.2f}x throughput (aim >= 1.8x)")


if __name__ == "__main__":
    main()
