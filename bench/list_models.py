"""A page of models on Postgres with many models: p50/p95 of GET /v1/models?page_size=50 against GET of one
model (the baseline: the same server, auth and round trip, one row), and the SQL statements a page of 1 and
a page of N cost (counted in-process against the same database).

Seeds a fresh Postgres database with N models x V versions (bench/ui_pages.py's seeding: artifacts with a
ResNet-20-like tensor index, parent chains, ``latest`` aliases), starts ``patchhub-server serve`` as its own
process and times R requests of each, one after another, after a warm-up.

    python bench/list_models.py --models 2000 --versions 5 --requests 300
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ui_pages import ADMIN_URL, REPO, p95, seed, timed, wait_until_ready

from registry.app import create_app
from registry.auth.tokens import create_token
from registry.db import migrate
from registry.db.session import transaction
from registry.models import Role
from registry.runtime import Runtime, build_runtime
from registry.settings import Settings
from tests.fixtures.services import free_port


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--page-size", type=int, default=50)
    args = parser.parse_args()
    name = f"patchhub_bench_lists_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    data_dir = tempfile.mkdtemp(prefix="patchhub-lists-bench-")
    try:
        migrate.upgrade(url)
        namespace, model, _artifact = seed(url, args.models, args.versions)
        runtime = build_runtime(Settings(data_dir=Path(data_dir), database_url=url))
        with transaction(runtime.session_factory) as session:
            _row, token = create_token(session, "bench", Role.admin, None)
        statements = {size: statements_per_page(runtime, token, size) for size in (1, args.page_size)}
        runtime.close()
        port = free_port()
        env = {
            **os.environ,
            "PATCHHUB_DATABASE_URL": url,
            "PATCHHUB_DATA_DIR": data_dir,
            "PATCHHUB_BROKER_URL": "memory://",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "registry.cli", "serve", "--port", str(port)],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_ready(base)
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
                page = f"/v1/models?page_size={args.page_size}"
                rows = len(client.get(page).json()["items"])
                page_ms, page_cpu = timed(client, page, args.requests, server.pid)
                one_ms, one_cpu = timed(client, f"/v1/models/{namespace}/{model}", args.requests, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"{args.models} models x {args.versions} versions on Postgres, {args.requests} requests each")
        print(
            f"page of {rows:3} models: p50 {statistics.median(page_ms):6.1f} ms, p95 {p95(page_ms):6.1f} ms "
            f"(aim p95 < 30 ms), server CPU {page_cpu:.1f} ms/request"
        )
        print(f"statements per page (in-process count): {statements}")
        print(
            f"one model (baseline): p50 {statistics.median(one_ms):6.1f} ms, p95 {p95(one_ms):6.1f} ms, "
            f"server CPU {one_cpu:.1f} ms/request; page / one model p95 = {p95(page_ms) / p95(one_ms):.2f}"
        )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def statements_per_page(runtime: Runtime, token: str, page_size: int) -> int:
    """SQL statements one ``GET /v1/models?page_size=N`` issues (the app in this process, same database)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with TestClient(create_app(runtime=runtime)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        client.get("/v1/models", params={"page_size": page_size}, headers=headers).raise_for_status()
        event.listen(runtime.engine, "before_cursor_execute", record)
        try:
            items = client.get("/v1/models", params={"page_size": page_size}, headers=headers).json()["items"]
        finally:
            event.remove(runtime.engine, "before_cursor_execute", record)
    assert len(items) == page_size
    return len(statements)


if __name__ == "__main__":
    main()
