"""Composition speed and memory: through the API, in the SDK, against a plain copy and the naive way.

Builds a float32 base of about --base-mib MiB (tensors up to 64 MiB) and three 8-bit signatures covering the
first layers plus one large tensor, registers them on `patchhub-server serve` (SQLite + local blobs), then, in
the same run:
  - copy:  GET the base's file from the API (streaming the same bytes from the same store: the limit)
  - cold:  the server's first composition since its start (another recipe), timed apart: it also pays one-time
           costs
  - api:   POST /v1/compositions + GET its file, first (uncached) computation, which also writes the cache; then,
           once the output's sha256 is recorded (hashed from the cache), the same GET again (served from the cache)
  - concurrent: --clients first GETs of another composition at once (single flight: computed once), their
           wall time against one cached download, the server's CPU seconds, and whether all got the same bytes
  - many:  a composition with --many signatures on a fresh server: its peak RSS against the 3-signature one
           (memory must not grow with the number of signatures)
  - sdk:   client.compose(...) with the base already in the local cache (compose only)
  - naive: safetensors.torch.load_file + add every dequantized delta + save_file
Each of sdk and naive runs in a child process so its peak RSS (ru_maxrss) is its own; the API's peak is the
server process's VmHWM on a server started fresh for the compose. Also prints each bit width's signature size
against the full base weights.

    python bench/compose.py --base-mib 512
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from ui_pages import cpu_seconds  # noqa: E402

from patchhub.signature import quantize_signature  # noqa: E402
from tests.fixtures.services import free_port  # noqa: E402

CHUNK = 8 << 20


def make_base(path: Path, base_mib: int) -> tuple[dict[str, tuple[int, ...]], int]:
    """Shallow small convs, then large matrices up to 64 MiB; returns shapes and the largest tensor's bytes."""
    from safetensors.numpy import save_file

    shapes: dict[str, tuple[int, ...]] = {f"features.{i}.weight": (64, 64, 3, 3) for i in range(7)}
    shapes.update({f"features.{i}.bias": (64,) for i in range(7)})
    remaining = base_mib * 2**20 - sum(4 * int(np.prod(s)) for s in shapes.values())
    layer = 0
    while remaining > 0:
        rows = max(1, min(4096, remaining // (4 * 4096)))
        shapes[f"classifier.{layer}.weight"] = (int(rows), 4096)
        remaining -= 4 * rows * 4096
        layer += 1
    rng = np.random.default_rng(0)
    save_file({k: rng.standard_normal(s, dtype=np.float32) for k, s in shapes.items()}, str(path))
    return shapes, max(4 * int(np.prod(s)) for s in shapes.values())


def make_signatures(shapes: dict[str, tuple[int, ...]], bits: int, count: int = 3) -> list[bytes]:
    rng = np.random.default_rng(1)
    covered = [n for n in shapes if n.startswith("features.")] + ["classifier.0.weight"]
    return [
        quantize_signature(
            {n: (0.01 * rng.standard_normal(shapes[n])).astype(np.float32) for n in covered},
            bits=bits,
            metadata={"arch": "bench", "corruption": f"c{i}"},
        ).to_bytes()
        for i in range(count)
    ]


def local_server_env(data_dir: Path) -> dict[str, str]:
    """This environment without PATCHHUB_* settings, for a server on SQLite + local blobs in ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHHUB_")}
    env.update({"PATCHHUB_DATA_DIR": str(data_dir), "PATCHHUB_BROKER_URL": "memory://", "PYTHONPATH": str(REPO)})
    return env


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "serve", "--port", str(port)],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def concurrent_first_gets(url: str, headers: dict[str, str], path: str, clients: int) -> tuple[float, int]:
    """Wall seconds until all ``clients`` first GETs of ``path`` are done, and how many distinct bodies."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> str:
        digest = hashlib.sha256()
        with httpx.Client(base_url=url, headers=headers, timeout=600) as own, own.stream("GET", path) as response:
            response.raise_for_status()
            for piece in response.iter_bytes(CHUNK):
                digest.update(piece)
        return digest.hexdigest()

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        digests = set(pool.map(one, range(clients)))
    return time.perf_counter() - started, len(digests)


def wait_for_digest(client: httpx.Client, composition: str) -> float:
    """Seconds until the composition's sha256 is recorded (it is hashed from the cache after the first download)."""
    started = time.perf_counter()
    while client.get(f"/v1/compositions/{composition}").json()["sha256"] is None:
        if time.perf_counter() - started > 120:
            raise RuntimeError(f"composition {composition}: no sha256 after 120 s")
        time.sleep(0.05)
    return time.perf_counter() - started


def stream_seconds(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    with client.stream("GET", url) as response:
        response.raise_for_status()
        for _ in response.iter_bytes(CHUNK):
            pass
    return time.perf_counter() - started


# Children read their peak from /proc/self/status (VmHWM belongs to the exec'd image); ru_maxrss would start
# from the parent's peak, which holds the generated base.
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024"

CHILD_SDK = """
import json, sys, time
from patchhub import Client
args = json.loads(sys.argv[1])
with Client(args["url"], token=args["token"], progress=False, cache_dir=args["cache"]) as client:
    client.artifacts.download(args["base"])  # warm cache: time the compose only
    for sig in args["sigs"]:
        client.artifacts.download(sig)
    before = PEAK_EXPR
    started = time.perf_counter()
    client.compose(args["base"], [(s, 0.5) for s in args["sigs"]])
    seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rss": PEAK_EXPR, "rss_before": before}))
"""

CHILD_NAIVE = """
import json, sys, time
from safetensors.torch import load_file, save_file
from patchhub.signature import Signature
import torch
args = json.loads(sys.argv[1])
started = time.perf_counter()
weights = load_file(args["base_path"])
for path in args["sig_paths"]:
    signature = Signature.from_path(path)
    for name in signature.tensor_names:
        weights[name] += 0.5 * torch.from_numpy(signature.delta(name))
save_file(weights, args["out"])
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rss": PEAK_EXPR}))
"""


def child(code: str, args: dict[str, object]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code.replace("PEAK_EXPR", PEAK), json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-mib", type=int, default=512)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--many", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="patchhub-compose-bench-"))
    env = local_server_env(work / "data")
    port = free_port()
    try:
        base_path = work / "base.safetensors"
        shapes, largest = make_base(base_path, args.base_mib)
        base_bytes = base_path.stat().st_size
        mib = base_bytes / 2**20
        print(f"base: {mib:.0f} MiB float32, {len(shapes)} tensors, largest {largest / 2**20:.0f} MiB")
        for bits in (32, 8, 4, 2, 1):
            size = len(make_signatures(shapes, bits)[0])
            print(f"  signature at {bits:>2} bits: {size / 2**20:7.2f} MiB = 1/{base_bytes / size:.0f} of the base")
        signatures = make_signatures(shapes, 8, max(3, args.many))
        server = start_server(env, port)
        url = f"http://127.0.0.1:{port}"
        token = (work / "data" / "admin-token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
            client.post("/v1/namespaces", json={"name": "bench"}).raise_for_status()
            for name in ["base"] + [f"sig{i}" for i in range(len(signatures))]:
                client.post("/v1/models", json={"namespace": "bench", "name": name, "arch": "bench"})
            with base_path.open("rb") as handle:
                base_id = client.put(
                    "/v1/models/bench/base/artifacts",
                    params={"kind": "base"},
                    content=iter(lambda: handle.read(CHUNK), b""),
                ).json()["id"]
            sig_ids = []
            for i, data in enumerate(signatures):
                (work / f"sig{i}.safetensors").write_bytes(data)
                sig_ids.append(
                    client.put(f"/v1/models/bench/sig{i}/artifacts", params={"kind": "rws"}, content=data).json()["id"]
                )
        stop(server)
        server = start_server(env, port)  # fresh process: its peak RSS is the compose's alone
        with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
            # The faster of two plain copies: the first one after a start also warms the server up.
            copy = min(stream_seconds(client, f"/v1/artifacts/{base_id}/file") for _ in range(2))
            idle_rss = peak_rss_mib(server.pid)
            # The server's first composition after its start also pays one-time costs (code paths run for the
            # first time, the thread pool grown); it is timed apart, then a fresh recipe is the first download.
            warmup = {"base": base_id, "patches": [{"artifact": s, "scale": 0.75} for s in sig_ids[:3]]}
            warmup_id = client.post("/v1/compositions", json=warmup).json()["id"]
            cold = stream_seconds(client, f"/v1/compositions/{warmup_id}/file")
            wait_for_digest(client, warmup_id)
            recipe = {"base": base_id, "patches": [{"artifact": s, "scale": 0.5} for s in sig_ids[:3]]}
            composition = client.post("/v1/compositions", json=recipe).json()["id"]
            api = stream_seconds(client, f"/v1/compositions/{composition}/file")
            api_rss = peak_rss_mib(server.pid)
            digest_after = wait_for_digest(client, composition)
            cached = stream_seconds(client, f"/v1/compositions/{composition}/file")
            other = {"base": base_id, "patches": [{"artifact": s, "scale": 0.25} for s in sig_ids[:3]]}
            other_id = client.post("/v1/compositions", json=other).json()["id"]
            cpu_before = cpu_seconds(server.pid)
            together, distinct = concurrent_first_gets(url, headers, f"/v1/compositions/{other_id}/file", args.clients)
            together_cpu = cpu_seconds(server.pid) - cpu_before
            cpu_before = cpu_seconds(server.pid)
            one_cached = stream_seconds(client, f"/v1/compositions/{other_id}/file")
            cached_cpu = cpu_seconds(server.pid) - cpu_before
        sdk = child(
            CHILD_SDK,
            {"url": url, "token": token, "cache": str(work / "cache"), "base": base_id, "sigs": sig_ids[:3]},
        )
        stop(server)
        server = start_server(env, port)
        with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
            stream_seconds(client, f"/v1/artifacts/{base_id}/file")
            many_idle = peak_rss_mib(server.pid)
            recipe = {"base": base_id, "patches": [{"artifact": s, "scale": 0.1} for s in sig_ids[: args.many]]}
            many_id = client.post("/v1/compositions", json=recipe).json()["id"]
            many = stream_seconds(client, f"/v1/compositions/{many_id}/file")
            many_rss = peak_rss_mib(server.pid)
        stop(server)
        naive = child(
            CHILD_NAIVE,
            {
                "base_path": str(base_path),
                "out": str(work / "naive.safetensors"),
                "sig_paths": [str(work / f"sig{i}.safetensors") for i in range(3)],
            },
        )
        bound = 2 * largest / 2**20 + 100
        print(f"copy (limit): {mib / copy:7.0f} MiB/s")
        print(
            f"api compose : {mib / api:7.0f} MiB/s = {copy / api:.2f} of copy, {naive['seconds'] / api:.2f}x naive; "
            f"server peak RSS {api_rss:.0f} MiB, {api_rss - idle_rss:.0f} MiB above it after a plain copy "
            f"(aim: under 2 x largest tensor + 100 = {bound:.0f} MiB)"
        )
        print(
            f"api cold    : {mib / cold:7.0f} MiB/s = {copy / cold:.2f} of copy (the server's first composition "
            "since its start, another recipe)"
        )
        print(
            f"api cached  : {mib / cached:7.0f} MiB/s = {copy / cached:.2f} of copy (the second download, after the "
            f"output's sha256 was recorded {digest_after:.2f} s after the first download)"
        )
        print(
            f"concurrent  : {args.clients} first GETs at once in {together:.2f} s = {together / api:.2f} x one first "
            f"GET, {distinct} distinct bodies; server CPU {together_cpu:.2f} s = {together_cpu / cached_cpu:.1f} x "
            f"one cached download's {cached_cpu:.2f} s ({one_cached:.2f} s wall)"
        )
        print(
            f"many        : {args.many} signatures: {mib / many:.0f} MiB/s, server peak RSS {many_rss:.0f} MiB, "
            f"{many_rss - many_idle:.0f} MiB above it after a plain copy (3 signatures: {api_rss - idle_rss:.0f} MiB; "
            f"aim under {bound:.0f} MiB)"
        )
        print(
            f"sdk compose : {mib / sdk['seconds']:7.0f} MiB/s = {copy / sdk['seconds']:.2f} of copy, "
            f"{naive['seconds'] / sdk['seconds']:.2f}x naive; peak RSS {sdk['rss']:.0f} MiB, "
            f"{sdk['rss'] - sdk['rss_before']:.0f} MiB above the same process before composing"
        )
        print(f"naive       : {mib / naive['seconds']:7.0f} MiB/s; peak RSS {naive['rss']:.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
