"""Submit-to-start latency of jobs on Redis and on the embedded broker, and the job path's overhead.

For each broker it starts `patchhub-server serve` (SQLite metadata, local blobs) and one worker (the embedded
mode starts its own), then runs N small `evaluate` jobs one after another and reports p50/p95 of
started_at - created_at. Then it times one `train` job end to end (submission to finish, as a user waits)
against calling the same training function directly in this process with the same config (ratio).

    python bench/job_latency.py --jobs 50
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workers.data import load_digits_dataset  # noqa: E402
from workers.jobs.io import build_model, checkpoint_bytes  # noqa: E402
from workers.training import TrainConfig, train_classifier  # noqa: E402

TRAIN = {"arch": "resnet20", "dataset": "builtin:digits", "image_size": 8, "epochs": 2, "batch_size": 64, "lr": 0.1}


def start(env: dict[str, str], port: int, with_worker: bool) -> list[subprocess.Popen[bytes]]:
    serve = [sys.executable, "-m", "registry.cli", "serve", "--port", str(port)]
    procs = [
        subprocess.Popen(
            serve, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    ]
    if with_worker:
        worker = [sys.executable, "-m", "registry.cli", "worker", "--queues", "gpu,cpu"]
        procs.append(
            subprocess.Popen(
                worker, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
            )
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return procs
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def wait(client: httpx.Client, job_id: str) -> dict:
    while True:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            if job["status"] != "succeeded":
                raise RuntimeError(job)
            return dict(job)
        time.sleep(0.05)


def seconds(job: dict, start: str, end: str) -> float:
    return (datetime.fromisoformat(job[end]) - datetime.fromisoformat(job[start])).total_seconds()


def run_broker(name: str, broker_url: str | None, jobs: int) -> tuple[list[float], float]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"patchhub-jobs-{name}-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHHUB_")}
    env.update({"PATCHHUB_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)})
    if broker_url:
        env["PATCHHUB_BROKER_URL"] = broker_url
    port = 8790 if broker_url else 8791
    procs = start(env, port, with_worker=broker_url is not None)
    try:
        token = (data_dir / "admin-token").read_text().strip()
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as client:
            client.post("/v1/namespaces", json={"name": "bench"}).raise_for_status()
            client.post("/v1/models", json={"namespace": "bench", "name": "net", "arch": "resnet20"})
            model, config = build_model("resnet20", {})
            artifact = client.put(
                "/v1/models/bench/net/artifacts",
                params={"kind": "checkpoint"},
                content=checkpoint_bytes(model, "resnet20", config),
            ).json()["id"]
            params = {"artifact": artifact, "image_size": 8, "device": "cpu"}
            wait(
                client,
                client.post("/v1/jobs", json={"kind": "evaluate", "namespace": "bench", "params": params}).json()["id"],
            )  # warm-up
            latencies = []
            for _ in range(jobs):
                job_id = client.post(
                    "/v1/jobs", json={"kind": "evaluate", "namespace": "bench", "params": params}
                ).json()["id"]
                latencies.append(seconds(wait(client, job_id), "created_at", "started_at"))
            submitted = time.perf_counter()
            job = client.post(
                "/v1/jobs",
                json={"kind": "train", "namespace": "bench", "params": {**TRAIN, "output_model": "bench/trained"}},
            ).json()
            wait(client, job["id"])
            end_to_end = time.perf_counter() - submitted
        return latencies, end_to_end
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def direct_training_seconds() -> float:
    train = load_digits_dataset(image_size=8, split="train")
    val = load_digits_dataset(image_size=8, split="test")
    model, _ = build_model("resnet20", {}, num_classes=10)
    config = TrainConfig(
        epochs=2, batch_size=64, optimizer="sgd", lr=0.1, weight_decay=5e-4, momentum=0.9, flip=False, device="cpu"
    )
    started = time.perf_counter()
    train_classifier(model, train, config, val=val)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    direct = direct_training_seconds()
    print(f"direct train_classifier (resnet20, digits 8x8, 2 epochs): {direct:.2f}s")
    for name, url in (("redis", args.redis), ("embedded", None)):
        latencies, end_to_end = run_broker(name, url, args.jobs)
        q = statistics.quantiles(latencies, n=20)
        print(
            f"{name:>8}: submit-to-start p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {q[18] * 1000:.0f} ms over {len(latencies)} jobs; train job end to end {end_to_end:.2f}s "
            f"= {end_to_end / direct:.2f}x direct",
            flush=True,
        )


if __name__ == "__main__":
    main()
