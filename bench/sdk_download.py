"""The SDK's verified download against a plain streamed GET to a file, in the same run.

Starts `patchhub-server serve` (SQLite metadata, local blobs), uploads one safetensors file of --size-mib MiB,
then alternates, --repeats times:
  - plain:     GET /v1/artifacts/{id}/file streamed into a file (no hashing: the limit)
  - read back: the same, then the file read back and hashed (how the SDK checked a download before)
  - sdk:       client.artifacts.download(id) into a fresh cache (resumable, sha256-checked as the bytes arrive,
               renamed into place)
after one warm-up round of each, and prints the SDK's speed as a fraction of plain and against read back.

    python bench/sdk_download.py --size-mib 1024 --repeats 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compose import CHUNK, local_server_env, make_base, start_server, stop

from patchhub import Client
from patchhub.download import file_sha256
from tests.fixtures.services import free_port


def get_seconds(client: httpx.Client, path: str, target: Path, *, read_back: bool) -> float:
    """A GET streamed into ``target`` as the SDK reads it, then (``read_back``) the file hashed again."""
    started = time.perf_counter()
    with client.stream("GET", path) as response, target.open("wb") as sink:
        response.raise_for_status()
        for piece in response.iter_bytes():
            sink.write(piece)
    if read_back:
        file_sha256(target)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def sdk_seconds(url: str, token: str, artifact: str, cache: Path) -> float:
    with Client(url, token, cache_dir=cache) as client:
        started = time.perf_counter()
        client.artifacts.download(artifact)
        elapsed = time.perf_counter() - started
    shutil.rmtree(cache)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="patchhub-sdk-download-"))
    env = local_server_env(work / "data")
    port = free_port()
    server = None
    try:
        base = work / "model.safetensors"
        make_base(base, args.size_mib)
        server = start_server(env, port)
        url = f"http://127.0.0.1:{port}"
        token = (work / "data" / "admin-token").read_text().strip()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
            client.post("/v1/namespaces", json={"name": "bench"}).raise_for_status()
            client.post("/v1/models", json={"namespace": "bench", "name": "m", "arch": "bench"}).raise_for_status()
            with base.open("rb") as handle:
                artifact = client.put(
                    "/v1/models/bench/m/artifacts",
                    params={"kind": "base"},
                    content=iter(lambda: handle.read(CHUNK), b""),
                ).json()["id"]
            path = f"/v1/artifacts/{artifact}/file"
            modes: dict[str, Callable[[], float]] = {
                "plain": lambda: get_seconds(client, path, work / "plain.bin", read_back=False),
                "read back": lambda: get_seconds(client, path, work / "plain.bin", read_back=True),
                "sdk": lambda: sdk_seconds(url, token, artifact, work / "cache"),
            }
            for measure in modes.values():  # warm-up: the server, and the pages the files are written into
                measure()
            times: dict[str, list[float]] = {name: [] for name in modes}
            for repeat in range(args.repeats):
                order = list(modes) if repeat % 2 == 0 else list(modes)[::-1]
                for name in order:
                    times[name].append(modes[name]())
        size = base.stat().st_size / 2**20
        for name, seconds in times.items():
            rate = size / statistics.median(seconds)
            print(f"{name:>9}: {[round(s, 2) for s in seconds]} s, median {rate:.0f} MiB/s")
        plain, read_back, sdk = (statistics.median(times[name]) for name in modes)
        print(
            f"{size:.0f} MiB: sdk download {plain / sdk:.2f} of a plain GET to a file, {read_back / sdk:.2f}x the "
            f"speed of GET + read back; load average {Path('/proc/loadavg').read_text().split()[:3]}"
        )
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
