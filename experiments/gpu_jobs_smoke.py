"""Run real job kinds in-process through the job path on the GPU (device "gpu") and on the CPU, same params.

Shows that a worker on a CUDA machine trains on the GPU and registers the same kind of outputs:

    python experiments/gpu_jobs_smoke.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry.auth.principal import Principal
from registry.db import migrate
from registry.db.session import transaction
from registry.jobs import service
from registry.models import Job, Role
from registry.resources.namespaces.service import create_namespace, get_namespace
from registry.runtime import build_runtime
from registry.settings import Settings
from workers.jobs.runner import execute_job

ADMIN = Principal(token_id=0, token_name="smoke", role=Role.admin, namespace_id=None)
JOBS = [
    ("train", {"arch": "resnet20", "image_size": 32, "epochs": 5, "batch_size": 128, "lr": 0.1}),
    ("train_emov2", {"arch": "emov2_1m", "image_size": 64, "epochs": 20, "batch_size": 128}),
    (
        "lapp_prune",
        {"arch": "resnet20", "image_size": 32, "epochs": 5, "pruning_epochs": 2, "target_flops_ratio": 0.403},
    ),
]


def main() -> None:
    print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
    settings = Settings(data_dir=Path(tempfile.mkdtemp()))
    migrate.upgrade(settings.resolved_database_url)
    runtime = build_runtime(settings)
    with transaction(runtime.session_factory) as session:
        create_namespace(session, "smoke")
    for index, (kind, params) in enumerate(JOBS):
        # Every kind on the GPU; the first also on the CPU, as the same-run comparison.
        devices = (["gpu", "cpu"] if index == 0 else ["gpu"]) if torch.cuda.is_available() else ["cpu"]
        for device in devices:
            with transaction(runtime.session_factory) as session:
                namespace = get_namespace(session, "smoke")
                full = {**params, "device": device, "output_model": f"smoke/{kind}-{device}"}
                job, _ = service.submit_job(session, ADMIN, namespace, kind, full, None)
                job_id = job.id
            started = time.perf_counter()
            status = execute_job(runtime, job_id, worker=f"smoke-{device}")
            seconds = time.perf_counter() - started
            with transaction(runtime.session_factory) as session:
                row = session.get(Job, job_id)
                assert row is not None
                metrics = row.result.get("metrics", row.result)
                summary = {k: metrics[k] for k in ("val_top1", "accuracy", "flops_ratio") if k in metrics}
                if "accuracy" in row.result:
                    summary = {"accuracy": row.result["accuracy"], "flops_ratio": row.result["flops_ratio"]}
                print(
                    f"{kind:>12} on {device}: {status.value if status else None} in {seconds:6.1f}s "
                    f"{summary} {row.error or ''}"
                )


if __name__ == "__main__":
    main()
