"""One Runtime (database engine, blob store) per worker process, built on first use."""

from __future__ import annotations

import os
import socket
from functools import lru_cache

from registry.contract.platform import Runtime, build_runtime, get_settings


@lru_cache(maxsize=1)
def worker_runtime() -> Runtime:
    return build_runtime(get_settings())


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
