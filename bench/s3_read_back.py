"""The API's read-back of a direct upload against a store that limits each connection, as S3 does.

moto cannot show what ranged GETs buy: it reads the whole object for every range, and one stream from it runs
at more than 1 GB/s. This runs the real ``S3DirectUploads.iter_staged`` and ``verify_stream`` over a stand-in
client whose every GET (ranged or not, If-Match ignored) streams at ``--mbps`` MB/s, once with one stream
(FAST_ONE_STREAM = 0) and once as configured, and prints seconds per GiB, GETs and CPU. It measures the overlap
of reads and hashing in this process, not S3.

    python bench/s3_read_back.py --size-mib 512 --mbps 100
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.upload_download import write_safetensors
from patchhub.safetensors_format import HeaderLimits
from registry.blobs import s3_direct
from registry.storage.verify import verify_stream


class SlowBody:
    def __init__(self, data: memoryview, bytes_per_s: float) -> None:
        self._data, self._rate, self._at, self._closed = data, bytes_per_s, 0, False

    def iter_chunks(self, size: int) -> Iterator[bytes]:
        while self._at < len(self._data) and not self._closed:
            piece = bytes(self._data[self._at : self._at + size])
            self._at += len(piece)
            time.sleep(len(piece) / self._rate)
            yield piece

    def close(self) -> None:
        self._closed = True


class SlowClient:
    def __init__(self, data: bytes, bytes_per_s: float) -> None:
        self._data, self._rate, self.gets = memoryview(data), bytes_per_s, 0

    def get_object(self, **request: Any) -> dict[str, Any]:
        self.gets += 1
        if "Range" not in request:
            return {"ContentLength": len(self._data), "Body": SlowBody(self._data, self._rate)}
        first, last = (int(n) for n in request["Range"].split("=")[1].split("-"))
        return {
            "ContentLength": last + 1 - first,
            "ContentRange": f"bytes {first}-{last}/{len(self._data)}",
            "Body": SlowBody(self._data[first : last + 1], self._rate),
        }


class SlowStore:
    bucket = "bench"

    def __init__(self, client: SlowClient) -> None:
        self.client, self.presigner = client, object()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--mbps", type=float, default=100.0, help="each connection's rate, MB/s")
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="patchhub-read-back-")) / "model.safetensors"
    sha256 = write_safetensors(path, args.size_mib)
    data = path.read_bytes()
    path.unlink()
    gib = len(data) / 2**30
    print(f"{args.size_mib} MiB, {args.mbps:.0f} MB/s per connection; load {Path('/proc/loadavg').read_text()[:14]}")
    configured = s3_direct.FAST_ONE_STREAM
    for label, fast in (("one stream", 0.0), ("as configured", configured)):
        s3_direct.FAST_ONE_STREAM = fast
        client = SlowClient(data, args.mbps * 1e6)
        uploads = s3_direct.S3DirectUploads(SlowStore(client))  # type: ignore[arg-type]
        started, cpu = time.perf_counter(), time.process_time()
        with closing(uploads.iter_staged(s3_direct.DirectUpload("key", "upload"), '"etag"')) as chunks:
            verify_stream(chunks, HeaderLimits(), expected_sha256=sha256, max_bytes=len(data))
        seconds = time.perf_counter() - started
        print(
            f"{label:>14}: {seconds / gib:.2f} s/GiB, {client.gets} GETs, {time.process_time() - cpu:.2f} s CPU, "
            f"{threading.active_count() - 1} threads left"
        )
    s3_direct.FAST_ONE_STREAM = configured


if __name__ == "__main__":
    main()
