"""Uploads into the local blob store against a trivial streaming PUT server doing the same hash, write and fsync.

Starts `patchhub-server serve` (SQLite metadata, local blobs under its data directory) and, as another process,
a trivial HTTP/1.1 server (Python's http.server) that reads a PUT body in 1 MiB pieces, sha256-hashes and
writes each to a staging file in the same filesystem, fsyncs, renames it into place and fsyncs the directory
(what the local store's commit does). The same client streams the same safetensors file (new bytes each
time, so nothing is deduplicated) to both, alternating --repeats times; medians and their ratio, and each
server's CPU seconds per upload (which other load on the machine barely moves).

    python bench/upload_local.py --size-mib 512 --repeats 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from compose import start_server, stop
from ui_pages import cpu_seconds
from upload_download import read_chunks, write_safetensors

from tests.fixtures.services import free_port

PIECE = 1 << 20


class TrivialPut(BaseHTTPRequestHandler):
    """PUT /<name>: stream the body through sha256 into <dir>/.staging, fsync, rename to <dir>/<sha256>."""

    protocol_version = "HTTP/1.1"
    directory = Path(".")

    def do_PUT(self) -> None:
        remaining = int(self.headers["Content-Length"])
        digest = hashlib.sha256()
        staging = self.directory / ".staging"
        staging.mkdir(exist_ok=True)
        fd, name = tempfile.mkstemp(dir=staging)
        with os.fdopen(fd, "wb") as handle:
            while remaining:
                piece = self.rfile.read(min(PIECE, remaining))
                if not piece:
                    raise OSError("client went away")
                remaining -= len(piece)
                digest.update(piece)
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, self.directory / digest.hexdigest())
        directory = os.open(self.directory, os.O_RDONLY)
        os.fsync(directory)
        os.close(directory)
        body = json.dumps({"sha256": digest.hexdigest()}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_trivial(port: int, directory: str) -> None:
    TrivialPut.directory = Path(directory)
    ThreadingHTTPServer(("127.0.0.1", port), TrivialPut).serve_forever()


def wait_listening(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def restamp(path: Path, stamp: int) -> str:
    """Change 8 bytes of the first tensor (new bytes, same layout); the file's new sha256."""
    with path.open("r+b") as handle:
        header_length = int.from_bytes(handle.read(8), "little")
        handle.seek(8 + header_length)
        handle.write(stamp.to_bytes(8, "little"))
        handle.seek(0)
        return hashlib.file_digest(handle, "sha256").hexdigest()


def timed_put(client: httpx.Client, url: str, path: Path, params: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.put(
        url, params=params, content=read_chunks(path), headers={"Content-Length": str(path.stat().st_size)}
    )
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--serve-trivial", nargs=2, metavar=("PORT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_trivial:
        serve_trivial(int(args.serve_trivial[0]), args.serve_trivial[1])
        return
    work = Path(tempfile.mkdtemp(prefix="patchhub-upload-local-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHHUB_")}
    env.update({"PATCHHUB_DATA_DIR": str(work / "data"), "PATCHHUB_BROKER_URL": "memory://"})
    api_port, trivial_port = free_port(), free_port()
    (work / "trivial").mkdir()
    trivial = subprocess.Popen(
        [sys.executable, __file__, "--serve-trivial", str(trivial_port), str(work / "trivial")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    server = start_server(env, api_port)
    try:
        trivial_url = f"http://127.0.0.1:{trivial_port}"
        wait_listening(trivial_url)
        path = work / "model.safetensors"
        write_safetensors(path, args.size_mib)
        mib = path.stat().st_size / 2**20
        token = (work / "data" / "admin-token").read_text().strip()
        api_times, trivial_times, api_cpu, trivial_cpu = [], [], [], []
        with httpx.Client(
            base_url=f"http://127.0.0.1:{api_port}", headers={"Authorization": f"Bearer {token}"}, timeout=600
        ) as client:
            client.post("/v1/namespaces", json={"name": "bench"}).raise_for_status()
            client.post("/v1/models", json={"namespace": "bench", "name": "big", "arch": "none"}).raise_for_status()
            for repeat in range(args.repeats):
                sha = restamp(path, 2 * repeat + 1)
                before = cpu_seconds(server.pid)
                api_times.append(
                    timed_put(client, "/v1/models/bench/big/artifacts", path, {"kind": "base", "sha256": sha})
                )
                api_cpu.append(cpu_seconds(server.pid) - before)
                restamp(path, 2 * repeat + 2)
                before = cpu_seconds(trivial.pid)
                trivial_times.append(timed_put(client, f"{trivial_url}/model", path, {}))
                trivial_cpu.append(cpu_seconds(trivial.pid) - before)
                for blob in (work / "trivial").glob("[0-9a-f]*"):  # keep the disk from filling up
                    blob.unlink()
        api, plain = statistics.median(api_times), statistics.median(trivial_times)
        print(
            f"{mib:.0f} MiB upload, median of {args.repeats}: API {mib / api:.0f} MiB/s ({api:.2f} s), trivial PUT "
            f"server {mib / plain:.0f} MiB/s ({plain:.2f} s): API = {plain / api:.2f} of trivial (aim >= 0.8); "
            f"each run API / trivial s: {[round(t, 2) for t in api_times]} / {[round(t, 2) for t in trivial_times]}; "
            f"server CPU per upload (median): API {statistics.median(api_cpu):.2f} s, trivial "
            f"{statistics.median(trivial_cpu):.2f} s"
        )
    finally:
        stop(server)
        os.killpg(trivial.pid, signal.SIGTERM)
        trivial.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
