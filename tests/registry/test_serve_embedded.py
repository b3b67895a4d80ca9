"""The newcomer's first run: `patchhub-server serve` with no configuration runs the API and a job end to end,
with no Postgres, Redis or S3 (SQLite file, local blobs, embedded broker, one worker subprocess)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fixtures.services import free_port
from tests.workers.jobs.job_helpers import upload_untrained_checkpoint, wait_done

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_serve_embedded_default_runs_a_job(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHHUB_")}
    env["PATCHHUB_DATA_DIR"] = str(tmp_path / "data")
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "serve", "--port", str(port)],
        env=env,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so the worker subprocess is stopped with it
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        output = (tmp_path / "serve.log").read_text()
        assert f"http://127.0.0.1:{port}/docs" in output
        token_file = tmp_path / "data" / "admin-token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        assert token not in output  # the secret is never printed
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            client.post("/v1/namespaces", json={"name": "first"}).raise_for_status()
            checkpoint = upload_untrained_checkpoint(client, "first")
            job = client.post(
                "/v1/jobs",
                json={"kind": "evaluate", "namespace": "first", "params": {"artifact": checkpoint, "image_size": 8}},
            ).json()
            done = wait_done(client, job["id"], timeout=120)
            assert done["status"] == "succeeded", (tmp_path / "serve.log").read_text()[-3000:]
            assert 0.0 <= done["result"]["metrics"]["top1"] <= 1.0
        assert (tmp_path / "data" / "patchhub.db").exists()
        assert any((tmp_path / "data" / "blobs").rglob("*"))
        workers = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert workers, "serve started no worker subprocess"
        server.send_signal(signal.SIGTERM)  # what a service manager sends; the worker must not outlive serve
        server.wait(timeout=30)
        assert _all_exit([int(pid) for pid in workers], timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        log.close()


def _all_exit(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return True
        time.sleep(0.2)
    return False
