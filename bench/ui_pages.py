"""Server time of the web UI's home, model and artifact pages on Postgres with many models, against the /v1 JSON
call each page is built on (same server, same run: the ratio is what compares across machines).

It creates a fresh Postgres database, writes N models x V versions straight into it (namespace, models,
artifacts with a 3-stage ResNet's tensor index, parents chaining each version to the one before, ``latest``
aliases; no bytes are needed to render pages), starts ``patchhub-server serve`` as its own process, signs in
through the login form, then times R requests per page and per baseline, one after another, after a warm-up.
Times are measured by the client over loopback, so they include one HTTP round trip on top of server time.

    python bench/ui_pages.py --models 2000 --versions 5 --requests 200
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from registry.auth.tokens import create_token  # noqa: E402
from registry.db import migrate  # noqa: E402
from registry.db.base import utcnow  # noqa: E402
from registry.db.session import transaction  # noqa: E402
from registry.models import Alias, Artifact, ArtifactParent, Model, Namespace, Role  # noqa: E402
from registry.runtime import build_runtime  # noqa: E402
from registry.settings import Settings  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ARCHS = ("resnet20", "resnet32", "resnet56", "vgg16")
KINDS = ("base", "checkpoint", "rws", "pruned", "checkpoint")
WARMUP_REQUESTS = 10


def tensor_index() -> dict[str, dict[str, object]]:
    """A ResNet-20-like header: 3 stages x 3 blocks x 2 convs with batch norms, plus stem and head."""
    index: dict[str, dict[str, object]] = {}
    offset = 0

    def add(name: str, shape: list[int]) -> None:
        nonlocal offset
        size = 4
        for dim in shape:
            size *= dim
        index[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size

    add("conv1.weight", [16, 3, 3, 3])
    for stage, width in enumerate((16, 32, 64), start=1):
        for block in range(3):
            for conv in (1, 2):
                prefix = f"layer{stage}.{block}"
                add(f"{prefix}.conv{conv}.weight", [width, width, 3, 3])
                for part in ("weight", "bias", "running_mean", "running_var"):
                    add(f"{prefix}.bn{conv}.{part}", [width])
    add("fc.weight", [10, 64])
    add("fc.bias", [10])
    return index


def seed(url: str, models: int, versions: int) -> tuple[str, str, str]:
    """Rows for ``models`` x ``versions``; returns (namespace, a model name, an artifact id) to time."""
    index = tensor_index()
    params = sum(math.prod(entry["shape"]) for entry in index.values())  # type: ignore[arg-type]
    engine = create_engine(url)
    now = utcnow()
    with engine.begin() as conn:
        namespace_id = conn.execute(
            insert(Namespace).values(name="bench", description="").returning(Namespace.id)
        ).scalar_one()
        model_rows = [
            {
                "namespace_id": namespace_id,
                "name": f"model-{i:05d}",
                "arch": ARCHS[i % len(ARCHS)],
                "arch_config": {},
                "description": f"benchmark model {i} for corruption {i % 19}",
                "tags": ["bench", f"group-{i % 10}"],
                "created_at": now,
            }
            for i in range(models)
        ]
        model_ids = conn.execute(insert(Model).returning(Model.id), model_rows).scalars().all()
        artifacts, parents, aliases = [], [], []
        for model_id in model_ids:
            previous = None
            for version in range(1, versions + 1):
                artifact_id = uuid.uuid4().hex
                artifacts.append(
                    {
                        "id": artifact_id,
                        "model_id": model_id,
                        "version": version,
                        "kind": KINDS[(version - 1) % len(KINDS)],
                        "sha256": uuid.uuid4().hex * 2,
                        "size": 1_100_000,
                        "parameter_count": params,
                        "tensor_count": len(index),
                        "tensor_index": index,
                        "file_metadata": {"framework": "bench"},
                        "meta": {"metrics": {"top1": 0.9}},
                        "created_at": now,
                    }
                )
                if previous:
                    parents.append({"artifact_id": artifact_id, "parent_id": previous, "position": 0})
                previous = artifact_id
            aliases.append({"model_id": model_id, "name": "latest", "artifact_id": previous, "updated_at": now})
        for start in range(0, len(artifacts), 2000):
            conn.execute(insert(Artifact), artifacts[start : start + 2000])
        conn.execute(insert(ArtifactParent), parents)
        conn.execute(insert(Alias), aliases)
    engine.dispose()
    middle = models // 2
    return "bench", f"model-{middle:05d}", str(artifacts[middle * versions + versions // 2]["id"])


def wait_until_ready(base: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process: unlike wall time, barely moved by other load on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(
    client: httpx.Client, path: str, requests: int, server_pid: int, warmup: int = 10
) -> tuple[list[float], float]:
    """Wall milliseconds of each request, and the server's CPU milliseconds per request."""
    for _ in range(WARMUP_REQUESTS):
        assert client.get(path).status_code == 200, path
    samples = []
    cpu_before = cpu_seconds(server_pid)
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples, (cpu_seconds(server_pid) - cpu_before) * 1000 / requests


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    name = f"patchhub_bench_ui_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        data_dir = tempfile.mkdtemp(prefix="patchhub-ui-bench-")
        migrate.upgrade(url)
        started = time.perf_counter()
        namespace, model, artifact = seed(url, args.models, args.versions)
        print(f"seeded {args.models} models x {args.versions} versions in {time.perf_counter() - started:.1f} s")
        runtime = build_runtime(Settings(data_dir=Path(data_dir), database_url=url))
        with transaction(runtime.session_factory) as session:
            _row, token = create_token(session, "bench", Role.admin, None)
        runtime.close()
        port = 8765
        env = {
            **os.environ,
            "PATCHHUB_DATABASE_URL": url,
            "PATCHHUB_DATA_DIR": data_dir,
            "PATCHHUB_BROKER_URL": "memory://",  # no jobs here: keep `serve` from starting its embedded worker
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "registry.cli", "serve", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_ready(f"http://127.0.0.1:{port}")
        base = f"http://127.0.0.1:{port}"
        with (
            httpx.Client(base_url=base) as page_client,
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as api_client,
        ):
            login = page_client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
            assert csrf
            page_client.post("/login", data={"token": token, "csrf_token": csrf.group(1)})
            search = "q=corruption+7&kind=pruned"
            cases = [
                ("home", "/", "/v1/models?page_size=25"),
                ("home, search + kind", f"/?{search}", f"/v1/models?page_size=25&{search}"),
                ("model", f"/models/{namespace}/{model}", f"/v1/models/{namespace}/{model}/artifacts?page_size=100"),
                ("artifact", f"/artifacts/{artifact}", f"/v1/artifacts/{artifact}"),
            ]
            print(
                f"{'page':22} {'page p50':>9} {'page p95':>9} {'JSON p50':>9} {'JSON p95':>9} {'p95 ratio':>9} "
                f"{'page CPU':>9} {'JSON CPU':>9} {'CPU ratio':>9}"
            )
            for label, page, baseline in cases:
                page_ms, page_cpu = timed(page_client, page, args.requests, server.pid)
                json_ms, json_cpu = timed(api_client, baseline, args.requests, server.pid)
                print(
                    f"{label:22} {statistics.median(page_ms):7.1f}ms {p95(page_ms):7.1f}ms "
                    f"{statistics.median(json_ms):7.1f}ms {p95(json_ms):7.1f}ms {p95(page_ms) / p95(json_ms):9.2f} "
                    f"{page_cpu:7.1f}ms {json_cpu:7.1f}ms {page_cpu / json_cpu:9.2f}"
                )
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
