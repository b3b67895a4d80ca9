"""Upload and download through the API to an S3 endpoint versus direct boto3 to the same endpoint.

Starts moto's S3 server and `patchhub-server serve` (SQLite metadata, S3 blobs) as separate processes, writes a
safetensors file of each size, then times, in the same run:
  - API upload: one streamed PUT (sha256 sent, verified by the server) -> server hashes, validates, multipart to S3
  - direct upload: boto3 upload_file (managed multipart) of the same file
  - API download: GET /file streamed to a sink;  direct download: boto3 download_fileobj to a sink
and reports throughput ratios (API / direct) and the API process's peak RSS (VmHWM) after each size.

    python bench/upload_download.py --sizes-mib 256 1024
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import numpy as np
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.s3_server import MotoServer

CHUNK = 8 << 20


def write_safetensors(path: Path, size_mib: int) -> str:
    """One F32 tensor per 64 MiB (pseudo-random bytes); returns the file's sha256."""
    per_tensor = 64 << 20
    count = max(1, (size_mib << 20) // per_tensor)
    header: dict[str, object] = {}
    for i in range(count):
        header[f"layers.{i}.weight"] = {
            "dtype": "F32",
            "shape": [per_tensor // 4],
            "data_offsets": [i * per_tensor, (i + 1) * per_tensor],
        }
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    digest = hashlib.sha256()
    rng = np.random.default_rng(0)
    with path.open("wb") as handle:
        for block in (struct.pack("<Q", len(raw)), raw):
            handle.write(block)
            digest.update(block)
        for _ in range(count * (per_tensor // CHUNK)):
            block = rng.integers(0, 2**32, CHUNK // 4, dtype=np.uint32).tobytes()
            handle.write(block)
            digest.update(block)
    return digest.hexdigest()


def read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            yield block


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


class NullSink:
    def write(self, data: bytes) -> int:
        return len(data)


def start_api(
    endpoint: str, workdir: Path, bucket: str, *, port: int = 8765, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str, str]:
    env = {
        **os.environ,
        "PATCHHUB_DATA_DIR": str(workdir / "data"),
        "PATCHHUB_BLOB_URL": f"s3://{bucket}/registry",
        "PATCHHUB_S3_ENDPOINT_URL": endpoint,
        "PATCHHUB_S3_ACCESS_KEY_ID": "bench",
        "PATCHHUB_S3_SECRET_ACCESS_KEY": "bench",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "PATCHHUB_S3_REDIRECTS": "false",  # this bench measures bytes through the API; bench/s3_direct.py the other way
        **(extra_env or {}),
    }
    exe = shutil.which("patchhub-server") or "patchhub-server"
    env["PATCHHUB_BROKER_URL"] = "memory://"  # no jobs here: keep `serve` from starting its embedded worker
    process = subprocess.Popen([exe, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    token = (workdir / "data" / "admin-token").read_text().strip()
    return process, url, token


def bench_bucket(endpoint: str) -> tuple[Any, str]:
    """A boto3 client for moto at ``endpoint`` and the bucket the benches use, created."""
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    bucket = "patchhub-bench"
    s3.create_bucket(Bucket=bucket)
    return s3, bucket


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-mib", type=int, nargs="+", default=[256, 1024])
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="patchhub-bench-"))
    with MotoServer() as moto:
        assert moto.endpoint
        s3, bucket = bench_bucket(moto.endpoint)
        api, url, token = start_api(moto.endpoint, workdir, bucket)
        try:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
                client.post("/v1/namespaces", json={"name": "bench"}).raise_for_status()
                client.post("/v1/models", json={"namespace": "bench", "name": "big", "arch": "none"}).raise_for_status()
                print(
                    f"{'size':>8} {'api up':>10} {'boto3 up':>10} {'ratio':>6} {'api down':>10} "
                    f"{'boto3 down':>10} {'ratio':>6} {'API peak RSS':>13}"
                )
                for size_mib in args.sizes_mib:
                    path = workdir / f"model-{size_mib}.safetensors"
                    sha = write_safetensors(path, size_mib)
                    mib = path.stat().st_size / 2**20

                    started = time.perf_counter()
                    response = client.put(
                        "/v1/models/bench/big/artifacts",
                        params={"kind": "base", "sha256": sha},
                        content=read_chunks(path),
                    )
                    api_up = time.perf_counter() - started
                    response.raise_for_status()
                    artifact = response.json()
                    rss = peak_rss_mib(api.pid)

                    started = time.perf_counter()
                    s3.upload_file(str(path), bucket, f"direct/{size_mib}")
                    direct_up = time.perf_counter() - started

                    started = time.perf_counter()
                    with client.stream("GET", f"/v1/artifacts/{artifact['id']}/file") as stream:
                        received = sum(len(b) for b in stream.iter_bytes(CHUNK))
                    api_down = time.perf_counter() - started
                    assert received == path.stat().st_size

                    started = time.perf_counter()
                    s3.download_fileobj(bucket, f"direct/{size_mib}", NullSink())
                    direct_down = time.perf_counter() - started

                    print(
                        f"{size_mib:>6}Mi {mib / api_up:>7.0f}MB/s {mib / direct_up:>7.0f}MB/s "
                        f"{direct_up / api_up:>6.2f} {mib / api_down:>7.0f}MB/s {mib / direct_down:>7.0f}MB/s "
                        f"{direct_down / api_down:>6.2f} {rss:>10.0f}MiB",
                        flush=True,
                    )
                    path.unlink()
        finally:
            api.terminate()
            api.wait()
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
