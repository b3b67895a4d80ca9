"""The SDK's local compose (patchhub.compose.compose_file, what client.compose runs once its inputs are
cached) against the naive way (safetensors.torch load_file + add each dequantized delta + save_file), at
several base sizes, alternating the two --repeats times in fresh processes; medians and peak RSS.

    python bench/local_compose.py --sizes 128 512 1024 --repeats 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compose import CHILD_NAIVE, child, make_base, make_signatures

CHILD_COMPOSE = """
import json, sys, time
from patchhub.compose import compose_file
from patchhub.signature import Signature
args = json.loads(sys.argv[1])
started = time.perf_counter()
patches = [(Signature.from_path(path, sha), 0.5) for path, sha in zip(args["sig_paths"], args["sig_shas"])]
compose_file(args["base_path"], patches, args["out"])
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rss": PEAK_EXPR}))
"""


def main() -> None:
    import hashlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for mib in args.sizes:
        work = Path(tempfile.mkdtemp(prefix="patchhub-local-compose-"))
        try:
            base = work / "base.safetensors"
            shapes, _largest = make_base(base, mib)
            paths = []
            for i, data in enumerate(make_signatures(shapes, 8)):
                paths.append(work / f"sig{i}.safetensors")
                paths[-1].write_bytes(data)
            common = {"base_path": str(base), "sig_paths": [str(p) for p in paths]}
            shas = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]  # the download cache knows these
            sdk, naive = [], []
            for _ in range(args.repeats):
                naive.append(child(CHILD_NAIVE, {**common, "out": str(work / "naive.safetensors")}))
                sdk.append(child(CHILD_COMPOSE, {**common, "sig_shas": shas, "out": str(work / "sdk.safetensors")}))
            sdk_s = statistics.median(r["seconds"] for r in sdk)
            naive_s = statistics.median(r["seconds"] for r in naive)
            print(
                f"{mib:5} MiB: sdk {sdk_s:.2f} s (peak RSS {max(r['rss'] for r in sdk):.0f} MiB), "
                f"naive {naive_s:.2f} s (peak RSS {max(r['rss'] for r in naive):.0f} MiB): "
                f"sdk is {naive_s / sdk_s:.2f}x faster (aim >= 1.5x); each run sdk/naive: "
                f"{[round(r['seconds'], 2) for r in sdk]} / {[round(r['seconds'], 2) for r in naive]}",
                flush=True,
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
