"""Presigned transfers on S3: upload and download through patchhub against boto3 to the same endpoint.

Starts moto's S3 server and `patchhub-server serve` (SQLite metadata, S3 blobs) as separate processes, writes
a safetensors file, then times, in the same run and alternating the order per repeat:
  - patchhub upload: the SDK's resumable upload (it hashes the file, declares the sha256 when it starts, then
    16 MiB parts; direct: parts PUT to presigned URLs, 4 at a time, then the server joins them at their content
    address, tagged unverified, and streams the object once to check size, header and sha256: no copy)
  - boto3 upload: upload_file (managed multipart, 8 MiB parts, 10 threads) of the same file
  - patchhub download: GET /v1/artifacts/{id}/file following the redirect, streamed to a sink
  - boto3 download: one get_object streamed to a sink (single stream, as the redirect gives)
and prints the ratios (boto3 time / patchhub time), plus the API process's CPU seconds and RSS for each
transfer, and the time the API's read-back takes for the object boto3 uploaded (the same code, run here: its
GETs and the checks of verify_stream; ``--ranged-read-back`` also times the ranged GETs that a slow stream
switches to). ``--modes direct streamed`` also runs an API with PATCHHUB_S3_REDIRECTS=false for comparison;
``staged`` is direct with an SDK that does not declare the sha256 when it starts, so the server joins the
parts at a staging key and copies them to their content address once verified (the way before in-place joins).

    python bench/s3_direct.py --size-mib 1024 --repeats 2
    python bench/s3_direct.py --size-mib 128 --repeats 1      # the quick run
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
from boto3.s3.transfer import TransferConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.upload_download import CHUNK, NullSink, bench_bucket, start_api, write_safetensors
from patchhub import Client
from patchhub.download import file_sha256
from patchhub.safetensors_format import HeaderLimits
from patchhub.types import Upload
from registry.blobs import s3_direct
from registry.blobs.s3 import S3BlobStore
from registry.blobs.s3_client import S3Options, make_s3_client
from registry.blobs.s3_presign import S3Presigner
from registry.storage.verify import verify_stream
from tests.s3_server import MotoServer


@dataclass
class ApiProcess:
    pid: int

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def rss_mib(self, field: str = "VmRSS") -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field}")


@dataclass
class Measured:
    seconds: float
    api_cpu_s: float = 0.0
    api_rss_mib: float = 0.0


def measure(api: ApiProcess | None, action: object) -> Measured:
    cpu = api.cpu_seconds() if api else 0.0
    started = time.perf_counter()
    action()  # type: ignore[operator]
    seconds = time.perf_counter() - started
    if api is None:
        return Measured(seconds)
    return Measured(seconds, api.cpu_seconds() - cpu, api.rss_mib())


def upload_with_sdk(client: Client, path: Path, uploaded: list[str]) -> None:
    uploaded.append(client.artifacts.upload("bench/big", path, force_new_version=True).id)


def _undeclared(create: Callable[..., Upload], *args: object, **kwargs: object) -> Upload:
    """``Uploads.create`` without the sha256: the upload is joined at a staging key and copied once verified."""
    kwargs.pop("sha256", None)
    return create(*args, **kwargs)


def complete_seconds(url: str) -> float:
    """Time the API has spent in POST .../complete so far (joining and checking the parts), from /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=30).text
    lines = [
        line for line in text.splitlines() if line.startswith("patchhub_request_seconds_total") and "/complete" in line
    ]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def download_through_redirect(client: Client, url: str, path: Path) -> None:
    """GET /file with the SDK's own connection and token, following the redirect, into a sink (no cache)."""
    with client.transport._client.stream(
        "GET", url, headers={"Authorization": f"Bearer {client.transport.credentials.token}"}, follow_redirects=True
    ) as response:
        response.raise_for_status()
        received = sum(len(block) for block in response.iter_bytes())  # as it arrives, as the SDK reads
    assert received == path.stat().st_size


def download_with_boto3(s3: object, bucket: str, key: str) -> None:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]  # type: ignore[attr-defined]
    sink = NullSink()
    for block in body.iter_chunks(CHUNK):
        sink.write(block)


def read_back_seconds(endpoint: str, bucket: str, key: str, sha256: str, *, ranged: bool = False) -> float:
    """S3DirectUploads.iter_staged + verify_stream over an object, as the API reads a completed upload back."""
    client = make_s3_client(S3Options(endpoint_url=endpoint, access_key_id="bench", secret_access_key="bench"))
    store = S3BlobStore(client, bucket, presigner=S3Presigner(client, bucket, 300))
    etag = client.head_object(Bucket=bucket, Key=key)["ETag"]
    fast = s3_direct.FAST_ONE_STREAM
    s3_direct.FAST_ONE_STREAM = float("inf") if ranged else fast
    started = time.perf_counter()
    try:
        with closing(
            s3_direct.S3DirectUploads(store).iter_staged(s3_direct.DirectUpload(key, "bench"), etag)
        ) as chunks:
            verify_stream(chunks, HeaderLimits(), expected_sha256=sha256, max_bytes=1 << 40)
    finally:
        s3_direct.FAST_ONE_STREAM = fast
    return time.perf_counter() - started


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--modes", nargs="+", default=["direct"], choices=["direct", "staged", "streamed"])
    parser.add_argument("--ranged-read-back", action="store_true", help="also time the read-back in ranges")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="patchhub-s3-direct-"))
    path = workdir / "model.safetensors"
    write_safetensors(path, args.size_mib)
    mib = path.stat().st_size / 2**20
    print(f"{mib:.0f} MiB file; load average before: {load_average()}", flush=True)
    with MotoServer() as moto:
        assert moto.endpoint
        s3, bucket = bench_bucket(moto.endpoint)
        transfer = TransferConfig(multipart_chunksize=8 << 20, max_concurrency=10)
        for port, mode in enumerate(args.modes, start=8766):
            extra = {"PATCHHUB_S3_REDIRECTS": "false" if mode == "streamed" else "true"}
            (workdir / mode).mkdir()
            process, url, token = start_api(moto.endpoint, workdir / mode, bucket, port=port, extra_env=extra)
            api = ApiProcess(process.pid)
            try:
                run_mode(mode, api, url, token, s3, bucket, transfer, path, mib, args.repeats, workdir / mode)
                if mode == "direct":
                    print_read_back(moto.endpoint, bucket, path, mib, args.ranged_read_back)
            finally:
                process.terminate()
                process.wait()
    print(f"load average after: {load_average()}")


def print_read_back(endpoint: str, bucket: str, path: Path, mib: float, ranged: bool) -> None:
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    gib = mib / 1024
    seconds = read_back_seconds(endpoint, bucket, "direct/0", sha256)
    print(f"read-back of the object (as the API does it, run here): {seconds / gib:.2f} s/GiB")
    if ranged:
        seconds = read_back_seconds(endpoint, bucket, "direct/0", sha256, ranged=True)
        print(f"read-back forced into ranged GETs: {seconds / gib:.2f} s/GiB")


def run_mode(
    mode: str,
    api: ApiProcess,
    url: str,
    token: str,
    s3: object,
    bucket: str,
    transfer: TransferConfig,
    path: Path,
    mib: float,
    repeats: int,
    workdir: Path,
) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=600) as admin:
        admin.post("/v1/namespaces", json={"name": "bench"}).raise_for_status()
        admin.post("/v1/models", json={"namespace": "bench", "name": "big", "arch": "none"}).raise_for_status()
    print(f"\nmode {mode}: API idle RSS {api.rss_mib():.0f} MiB")
    print(
        f"{'try':>3} {'up MB/s':>8} {'boto3':>6} {'ratio':>6} {'API cpu':>8} {'API RSS':>8} | "
        f"{'down MB/s':>9} {'boto3':>6} {'ratio':>6} {'API cpu':>8} {'API RSS':>8}"
    )
    with Client(base_url=url, token=token, progress=False, cache_dir=workdir / "cache") as client:
        if mode == "staged":
            declaring = client.uploads.create
            client.uploads.create = partial(_undeclared, declaring)
        for attempt in range(repeats):
            uploaded: list[str] = []
            ours_up = partial(upload_with_sdk, client, path, uploaded)
            boto_up = partial(s3.upload_file, str(path), bucket, f"direct/{attempt}", Config=transfer)  # type: ignore[attr-defined]
            boto_down = partial(download_with_boto3, s3, bucket, f"direct/{attempt}")
            checked = complete_seconds(url)
            hashing = measure(None, partial(file_sha256, path))  # the SDK hashes the file before sending it
            if attempt % 2 == 0:
                up, base_up = measure(api, ours_up), measure(None, boto_up)
                ours_down = partial(download_through_redirect, client, f"{url}/v1/artifacts/{uploaded[0]}/file", path)
                down, base_down = measure(api, ours_down), measure(None, boto_down)
            else:
                base_up, up = measure(None, boto_up), measure(api, ours_up)
                ours_down = partial(download_through_redirect, client, f"{url}/v1/artifacts/{uploaded[0]}/file", path)
                base_down, down = measure(None, boto_down), measure(api, ours_down)
            print(
                f"{attempt + 1:>3} {mib / up.seconds:>8.0f} {mib / base_up.seconds:>6.0f} "
                f"{base_up.seconds / up.seconds:>6.2f} {up.api_cpu_s:>7.1f}s {up.api_rss_mib:>5.0f}MiB | "
                f"{mib / down.seconds:>9.0f} {mib / base_down.seconds:>6.0f} "
                f"{base_down.seconds / down.seconds:>6.2f} {down.api_cpu_s:>7.1f}s {down.api_rss_mib:>5.0f}MiB",
                flush=True,
            )
            print(
                f"    of the upload: {hashing.seconds:.1f}s client sha256, {complete_seconds(url) - checked:.1f}s "
                f"completing (server joins the parts, reads them back and checks them; staged: and copies them)"
            )
    print(f"API peak RSS (VmHWM) {api.rss_mib('VmHWM'):.0f} MiB")


if __name__ == "__main__":
    main()
